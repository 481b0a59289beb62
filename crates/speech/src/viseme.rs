//! Visemes: the mouth shapes that phonemes fall into. The set tells apart
//! what a viewer can see: lips pressed (p b m), lip on teeth (f v), tongue
//! between teeth (th), rounded (o u w), spread (i e), open (a), and rest.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viseme {
    /// Silence or a pause: lips together, relaxed.
    Rest,
    /// p b m: lips pressed shut.
    Closed,
    /// f v: lower lip against the upper teeth.
    LipTeeth,
    /// θ ð: tongue tip between the teeth.
    Dental,
    /// t d n l s z and other tongue-tip consonants: slightly open, teeth close.
    Alveolar,
    /// ʃ ʒ tʃ dʒ: lips pushed out, teeth close.
    PostAlveolar,
    /// k g ŋ h x j: open, shaped by the vowel around it.
    Velar,
    /// r ɹ: slightly rounded.
    Rhotic,
    /// w u ʊ o y: rounded.
    Rounded,
    /// o ɔ: rounded and open.
    RoundedOpen,
    /// i ɪ e: spread.
    Spread,
    /// ɛ ə ɜ æ ʌ: mid open.
    Mid,
    /// a ɑ ɐ: wide open.
    Open,
}

impl Viseme {
    /// Maps an espeak-ng IPA phoneme name to its viseme. Stress and length
    /// marks are ignored; a diphthong takes the shape of its first vowel.
    pub fn from_ipa(phoneme: &str) -> Viseme {
        let core: String = phoneme
            .chars()
            .filter(|c| !matches!(c, 'ˈ' | 'ˌ' | 'ː' | 'ˑ' | '\u{0303}' | '\u{0329}' | '\u{032F}' | '-' | '#' | '\''))
            .collect();
        if core.is_empty() || core == "_" || core.starts_with('_') {
            return Viseme::Rest;
        }
        for (prefix, viseme) in [
            ("tʃ", Viseme::PostAlveolar),
            ("dʒ", Viseme::PostAlveolar),
            ("ts", Viseme::Alveolar),
            ("dz", Viseme::Alveolar),
        ] {
            if core.starts_with(prefix) {
                return viseme;
            }
        }
        let first = core.chars().next().unwrap_or('_');
        match first {
            'p' | 'b' | 'm' | 'ɓ' | 'ʙ' => Viseme::Closed,
            'f' | 'v' | 'ɱ' | 'ʋ' => Viseme::LipTeeth,
            'θ' | 'ð' => Viseme::Dental,
            't' | 'd' | 'n' | 'l' | 's' | 'z' | 'ɾ' | 'ɫ' | 'ʎ' | 'ɲ' | 'ɬ' | 'ɗ' | 'ʈ' | 'ɖ' | 'ɳ' | 'ɭ' | 'c'
            | 'ɟ' => Viseme::Alveolar,
            'ʃ' | 'ʒ' | 'ɕ' | 'ʑ' | 'ç' | 'ʂ' | 'ʐ' => Viseme::PostAlveolar,
            // The glide j is made with the tongue, like k: the lips take the
            // shape of the vowel after it ("you" is rounded from the start).
            'k' | 'g' | 'ɡ' | 'ŋ' | 'h' | 'x' | 'ɣ' | 'χ' | 'ʁ' | 'q' | 'ɦ' | 'ʔ' | 'ħ' | 'ʕ' | 'j' => {
                Viseme::Velar
            }
            'r' | 'ɹ' | 'ɻ' | 'ʀ' | 'ɚ' | 'ɝ' => Viseme::Rhotic,
            'w' | 'ʍ' | 'u' | 'ʊ' | 'y' | 'ʏ' | 'ɥ' | 'ø' | 'ɵ' | 'ʉ' | 'ɯ' => Viseme::Rounded,
            'o' | 'ɔ' | 'ɒ' | 'œ' | 'ɶ' => Viseme::RoundedOpen,
            'i' | 'ɪ' | 'e' | 'ɨ' => Viseme::Spread,
            'ɛ' | 'ə' | 'ɜ' | 'æ' | 'ʌ' | 'ɘ' | 'ɞ' | 'ɤ' => Viseme::Mid,
            'a' | 'ɑ' | 'ɐ' => Viseme::Open,
            _ => Viseme::Mid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phonemes_fall_into_visible_classes() {
        assert_eq!(Viseme::from_ipa("m"), Viseme::Closed);
        assert_eq!(Viseme::from_ipa("b"), Viseme::Closed);
        assert_eq!(Viseme::from_ipa("f"), Viseme::LipTeeth);
        assert_eq!(Viseme::from_ipa("ˈaɪ"), Viseme::Open);
        assert_eq!(Viseme::from_ipa("oʊ"), Viseme::RoundedOpen);
        assert_eq!(Viseme::from_ipa("uː"), Viseme::Rounded);
        assert_eq!(Viseme::from_ipa("iː"), Viseme::Spread);
        assert_eq!(Viseme::from_ipa("tʃ"), Viseme::PostAlveolar);
        assert_eq!(Viseme::from_ipa("_:"), Viseme::Rest);
        assert_eq!(Viseme::from_ipa(""), Viseme::Rest);
    }
}
