//! Background colours as HeyGen writes them: `#rrggbb` (or `#rgb`).

use thiserror::Error;

#[derive(Debug, Error)]
#[error("'{0}' is not a colour; write it as #rrggbb, for example #ffffff")]
pub struct ColourError(pub String);

pub fn parse_colour(text: &str) -> Result<[u8; 3], ColourError> {
    let error = || ColourError(text.to_string());
    let hex = text.trim().strip_prefix('#').ok_or_else(error)?;
    let expanded: String = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex.to_string(),
        _ => return Err(error()),
    };
    let channel = |i: usize| u8::from_str_radix(expanded.get(i..i + 2).ok_or_else(error)?, 16).map_err(|_| error());
    Ok([channel(0)?, channel(2)?, channel(4)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_colours() {
        assert_eq!(parse_colour("#ffffff").unwrap(), [255, 255, 255]);
        assert_eq!(parse_colour("#1a2B3c").unwrap(), [0x1a, 0x2b, 0x3c]);
        assert_eq!(parse_colour("#f00").unwrap(), [255, 0, 0]);
        for bad in ["ffffff", "#ggg000", "#12345", "", "#ééé"] {
            assert!(parse_colour(bad).is_err(), "{bad}");
        }
    }
}
