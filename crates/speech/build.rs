//! Links the system's libespeak-ng (Debian package `libespeak-ng-dev`).
//! espeak-ng is GPL-3.0-or-later; see the README's licence section.
fn main() {
    println!("cargo:rustc-link-lib=espeak-ng");
}
