//! The voice catalogue: a fixed list with stable `voice_id`s, so an id a
//! client stored keeps meaning the same voice across releases.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Female,
    Male,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Voice {
    /// Stable identifier: `<language tag>-<gender>`, lower case.
    pub voice_id: String,
    /// Language name in English, as HeyGen lists it ("English", "German").
    pub language: &'static str,
    /// BCP-47-style tag ("en-US").
    pub locale: &'static str,
    pub gender: Gender,
    /// A name a person can pick from a list.
    pub name: String,
    /// What speaks it.
    #[serde(skip)]
    pub engine: Engine,
}

/// The synthesiser behind a voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// espeak-ng with this voice and variant ("de+f3").
    Espeak(String),
    /// The neural (Piper VITS) voice installed by scripts/fetch-neural-voice.sh.
    Neural,
}

impl Voice {
    /// Whether HeyGen's `emotion` option changes this voice. The neural
    /// voice's delivery can be steered (pace, pitch, variation); espeak-ng's
    /// formant voices sound the same whatever the emotion, so they say no.
    pub fn emotion_support(&self) -> bool {
        self.engine == Engine::Neural
    }

    /// Refuses options this voice cannot honour (an emotion on a voice
    /// without `emotion_support`).
    pub fn check_options(&self, options: &crate::SpeechOptions) -> Result<(), crate::SpeechError> {
        if options.emotion.is_some() && !self.emotion_support() {
            return Err(crate::SpeechError::Option(format!(
                "voice '{}' does not support emotion; GET /v2/voices shows which voices do (emotion_support)",
                self.voice_id
            )));
        }
        Ok(())
    }
}

/// The voice used when a request names none: the neural English voice.
pub const DEFAULT_VOICE_ID: &str = "en-us-joe";

/// (locale, language, espeak-ng voice, female name, male name)
const LANGUAGES: &[(&str, &str, &str, &str, &str)] = &[
    ("en-US", "English", "en-us", "Ava", "Ethan"),
    ("en-GB", "English", "en", "Olivia", "Oliver"),
    ("de-DE", "German", "de", "Greta", "Lukas"),
    ("fr-FR", "French", "fr", "Camille", "Louis"),
    ("es-ES", "Spanish", "es", "Lucia", "Mateo"),
    ("es-MX", "Spanish", "es-419", "Sofia", "Diego"),
    ("it-IT", "Italian", "it", "Giulia", "Marco"),
    ("pt-BR", "Portuguese", "pt-br", "Ana", "Pedro"),
    ("pt-PT", "Portuguese", "pt", "Beatriz", "Tiago"),
    ("nl-NL", "Dutch", "nl", "Emma", "Daan"),
    ("sv-SE", "Swedish", "sv", "Astrid", "Erik"),
    ("da-DK", "Danish", "da", "Freja", "Magnus"),
    ("nb-NO", "Norwegian", "nb", "Ingrid", "Henrik"),
    ("fi-FI", "Finnish", "fi", "Aino", "Eero"),
    ("pl-PL", "Polish", "pl", "Zofia", "Jakub"),
    ("cs-CZ", "Czech", "cs", "Tereza", "Jan"),
    ("sk-SK", "Slovak", "sk", "Natalia", "Martin"),
    ("hu-HU", "Hungarian", "hu", "Reka", "Bence"),
    ("ro-RO", "Romanian", "ro", "Ioana", "Andrei"),
    ("ru-RU", "Russian", "ru", "Anna", "Ivan"),
    ("uk-UA", "Ukrainian", "uk", "Oksana", "Taras"),
    ("el-GR", "Greek", "el", "Eleni", "Nikos"),
    ("tr-TR", "Turkish", "tr", "Elif", "Emre"),
    ("ar-SA", "Arabic", "ar", "Layla", "Omar"),
    ("sr-RS", "Serbian", "sr", "Milica", "Nikola"),
    ("hi-IN", "Hindi", "hi", "Priya", "Arjun"),
    ("id-ID", "Indonesian", "id", "Putri", "Budi"),
    ("ms-MY", "Malay", "ms", "Aisyah", "Hafiz"),
    ("vi-VN", "Vietnamese", "vi", "Linh", "Minh"),
    ("zh-CN", "Chinese", "cmn", "Mei", "Wei"),
    ("ja-JP", "Japanese", "ja", "Yui", "Haruto"),
    ("ko-KR", "Korean", "ko", "Jiwoo", "Minjun"),
    ("ca-ES", "Catalan", "ca", "Laia", "Pau"),
    ("hr-HR", "Croatian", "hr", "Ana", "Luka"),
    ("bg-BG", "Bulgarian", "bg", "Maria", "Georgi"),
    ("sw-KE", "Swahili", "sw", "Amani", "Juma"),
];

/// Every voice, in catalogue order: the neural voice first, then female and
/// male per language.
pub fn voices() -> &'static [Voice] {
    static VOICES: std::sync::OnceLock<Vec<Voice>> = std::sync::OnceLock::new();
    VOICES.get_or_init(|| {
        let neural = Voice {
            voice_id: DEFAULT_VOICE_ID.into(),
            language: "English",
            locale: "en-US",
            gender: Gender::Male,
            name: "Joe (en-US, neural)".into(),
            engine: Engine::Neural,
        };
        let formant = LANGUAGES.iter().flat_map(|&(locale, language, espeak, female, male)| {
            [(Gender::Female, female), (Gender::Male, male)].map(|(gender, name)| Voice {
                voice_id: format!("{}-{}", locale.to_lowercase(), gender.as_str()),
                language,
                locale,
                gender,
                name: format!("{name} ({locale})"),
                engine: Engine::Espeak(espeak_variant(espeak, gender)),
            })
        });
        std::iter::once(neural).chain(formant).collect()
    })
}

/// espeak-ng's voice name with a variant that sets the voice's gender.
fn espeak_variant(espeak: &str, gender: Gender) -> String {
    let variant = match gender {
        Gender::Female => "+f3",
        Gender::Male => "+m3",
    };
    format!("{espeak}{variant}")
}

pub fn find_voice(voice_id: &str) -> Option<&'static Voice> {
    voices().iter().find(|voice| voice.voice_id.eq_ignore_ascii_case(voice_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_the_default_exists() {
        let mut ids: Vec<&str> = voices().iter().map(|v| v.voice_id.as_str()).collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count);
        assert!(count >= 60);
        assert_eq!(find_voice(DEFAULT_VOICE_ID).map(|v| &v.engine), Some(&Engine::Neural));
        assert_eq!(find_voice("EN-US-MALE").map(|v| v.gender), Some(Gender::Male));
    }
}
