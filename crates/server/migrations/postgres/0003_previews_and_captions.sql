-- The GIF preview of every video, and the captions (SRT, and a copy of the
-- video with them drawn in) of videos that asked for them.
ALTER TABLE videos ADD COLUMN gif_file TEXT;
ALTER TABLE videos ADD COLUMN caption_file TEXT;
ALTER TABLE videos ADD COLUMN captioned_video_file TEXT;
