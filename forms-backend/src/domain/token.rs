//! 访问令牌: the secret in the link that lets an enterprise follow and rate its own request without an
//! account. Only the SHA-256 hash of a token is stored, so a copy of the database opens no request.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a token: 256 bits, beyond guessing.
const TOKEN_BYTES: usize = 32;

/// Length of a hash written as lower-case hex.
const HASH_HEX_LENGTH: usize = 64;

/// 访问令牌: a fresh secret, URL-safe base64 without padding (43 characters). It is shown once — in the link
/// sent to the enterprise — and never stored or logged; `Debug` prints `AccessToken(***)`.
#[derive(Clone)]
pub struct AccessToken(String);

/// 令牌摘要: the SHA-256 hash of a token, lower-case hex, which is what the database keeps. It has no `==`:
/// compare with [`TokenHash::matches`], which takes the same time whatever the bytes.
#[derive(Debug, Clone)]
pub struct TokenHash(String);

/// A stored value that is not a token hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("存储的令牌摘要格式不正确，应为64位十六进制数")]
pub struct InvalidTokenHash;

impl AccessToken {
    /// Draws a new token from the thread's cryptographically secure generator.
    pub fn generate() -> AccessToken {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        AccessToken::from_bytes(&bytes)
    }

    /// A token made from secret bytes the caller derived (an HMAC of an idempotency key, say), so the same
    /// retried submission gets the same link back without the token ever being stored. The bytes must be as
    /// unguessable as [`AccessToken::generate`]'s: 32 bytes from a keyed hash or a secure generator.
    pub fn from_bytes(bytes: &[u8]) -> AccessToken {
        AccessToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The secret itself, to put into the link.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash to store in place of the token.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of_presented(&self.0)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl TokenHash {
    /// Hashes the token a visitor presents (from a link or a form), to compare with the stored hash.
    /// Surrounding spaces are dropped: a token never contains any, but a copied link may.
    pub fn of_presented(token: &str) -> TokenHash {
        let digest = Sha256::digest(token.trim().as_bytes());
        TokenHash(to_hex(&digest))
    }

    /// A hash read back from the database.
    pub fn from_stored(hex: &str) -> Result<TokenHash, InvalidTokenHash> {
        let valid = hex.len() == HASH_HEX_LENGTH
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(TokenHash(hex.to_owned()))
        } else {
            Err(InvalidTokenHash)
        }
    }

    /// The lower-case hex to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both hashes are the same, looking at every byte so the time taken does not tell an attacker
    /// how many leading characters were right.
    pub fn matches(&self, other: &TokenHash) -> bool {
        let (left, right) = (self.0.as_bytes(), other.0.as_bytes());
        if left.len() != right.len() {
            return false;
        }
        let difference = left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fit_in_a_link_and_differ_every_time() {
        // Act
        let first = AccessToken::generate();
        let second = AccessToken::generate();

        // Assert
        assert_eq!(first.as_str().len(), 43);
        assert!(
            first
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(first.as_str(), second.as_str());
    }

    #[test]
    fn the_same_secret_bytes_give_the_same_link_token() {
        // Arrange
        let secret = [7u8; 32];

        // Act
        let first = AccessToken::from_bytes(&secret);
        let retried = AccessToken::from_bytes(&secret);

        // Assert
        assert_eq!(first.as_str(), retried.as_str());
        assert_eq!(first.as_str().len(), 43);
        assert!(first.hash().matches(&retried.hash()));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        // Arrange
        let token = AccessToken::generate();

        // Act
        let logged = format!("{token:?}");

        // Assert
        assert_eq!(logged, "AccessToken(***)");
        assert!(!logged.contains(token.as_str()));
    }

    #[test]
    fn the_presented_token_matches_its_stored_hash() {
        // Arrange
        let token = AccessToken::generate();
        let stored = TokenHash::from_stored(token.hash().as_str()).expect("hex from hash()");

        // Act
        let presented = TokenHash::of_presented(&format!(" {} ", token.as_str()));

        // Assert
        assert!(presented.matches(&stored));
        assert_ne!(stored.as_str(), token.as_str());
    }

    #[test]
    fn another_token_does_not_match() {
        // Arrange
        let stored = AccessToken::generate().hash();
        let other = AccessToken::generate();

        // Act
        let presented = TokenHash::of_presented(other.as_str());

        // Assert
        assert!(!presented.matches(&stored));
    }

    #[test]
    fn hashes_with_sha256_as_lower_case_hex() {
        // Act: the SHA-256 test vector for "abc" (FIPS 180-2, appendix B.1).
        let hash = TokenHash::of_presented("abc");

        // Assert
        assert_eq!(
            hash.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn refuses_a_stored_value_that_is_no_hash() {
        assert!(TokenHash::from_stored("abc").is_err());
        assert!(TokenHash::from_stored(&"A".repeat(64)).is_err());
    }
}
