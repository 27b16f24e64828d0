//! The centre's console (推进中心工作台): who may use it and how they prove it. Users (工作台用户) have a role —
//! centre staff (推进中心) act, leaders (领导) only read — and a password kept as an Argon2id hash (PHC string).
//! A login opens a session (会话) of [`SESSION_HOURS`]; only the hash of its token is stored, beside a CSRF token
//! that every form of the session carries. The pages are in `http::console`; this module owns the rules.

use std::str::FromStr;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Serialize;

use crate::domain::{AccessToken, TokenHash};
use crate::store::{Store, StoreError, UserRow};

/// A console session lasts a working day and a half at most, then the user logs in again.
pub const SESSION_HOURS: i64 = 12;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted: hashing cost must not depend on what a stranger posts.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// 角色: what a console user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 推进中心: runs the platform — dispatches (派单), re-dispatches (改派).
    Centre,
    /// 领导: city leaders follow the work; they read every page and change nothing.
    Leader,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Centre, Role::Leader];

    /// The code stored in the database and typed on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Role::Centre => "centre",
            Role::Leader => "leader",
        }
    }

    /// The Chinese name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Role::Centre => "推进中心",
            Role::Leader => "领导",
        }
    }

    /// Whether the role may change anything (every POST but logging out).
    pub fn can_act(self) -> bool {
        self == Role::Centre
    }
}

/// The input named no known role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("角色“{0}”无效，应为 centre（推进中心）或 leader（领导）")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Accepts the code (`centre`) or the Chinese name (推进中心).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.code().eq_ignore_ascii_case(input) || role.label() == input)
            .ok_or_else(|| UnknownRole(input.to_owned()))
    }
}

/// An account could not be created or checked; the message is for the user.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("用户名“{0}”无效：应为 2 到 32 个英文字母、数字或 . _ - 字符")]
    InvalidUsername(String),
    #[error("显示名称不能超过 50 个字，也不能含控制字符")]
    InvalidDisplayName,
    #[error("密码至少需要 {MIN_PASSWORD_CHARS} 个字符")]
    PasswordTooShort,
    #[error("密码不能超过 {MAX_PASSWORD_CHARS} 个字符")]
    PasswordTooLong,
    #[error("用户名“{0}”已存在，请换一个用户名")]
    DuplicateUsername(String),
    #[error("无法计算密码摘要：{0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// 用户名: ASCII letters, digits, `.`, `_` and `-`, 2 to 32 of them, compared in lower case so `Zhang` and
/// `zhang` are one user.
pub fn normalise_username(input: &str) -> Result<String, AccountError> {
    let username = input.trim().to_ascii_lowercase();
    let valid = (2..=32).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(username)
    } else {
        Err(AccountError::InvalidUsername(input.trim().to_owned()))
    }
}

/// Checks a new password's length (characters, not bytes: a Chinese pass-phrase counts what it shows).
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        Err(AccountError::PasswordTooShort)
    } else if length > MAX_PASSWORD_CHARS {
        Err(AccountError::PasswordTooLong)
    } else {
        Ok(())
    }
}

/// The Argon2id hash of `password` with a fresh random salt, as a PHC string (`$argon2id$v=19$…`).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|error| AccountError::Hash(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AccountError::Hash(error.to_string()))
}

/// Whether `password` matches the stored PHC string; a stored value that is no hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash no password is known for: verifying against it when the user does not exist takes as long as for a
/// real user, so the time of the answer does not tell which usernames exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(AccessToken::generate().as_str()).unwrap_or_else(|_| String::new())
    })
}

/// Creates a console user: checks the username, display name (the username when empty) and password, hashes the
/// password and stores the user. This is what `qihu user add` calls.
pub async fn create_user(
    store: &Store,
    username: &str,
    display_name: Option<&str>,
    password: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<i64, AccountError> {
    let username = normalise_username(username)?;
    let display_name = display_name
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or(&username)
        .to_owned();
    if display_name.chars().count() > 50 || display_name.chars().any(char::is_control) {
        return Err(AccountError::InvalidDisplayName);
    }
    check_password(password)?;
    let password = password.to_owned();
    // Argon2 is deliberately slow: keep it off the async workers.
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| AccountError::Hash(error.to_string()))??;
    store
        .create_user(&username, &display_name, &hash, role.code(), now)
        .await
        .map_err(|error| match error {
            StoreError::Duplicate => AccountError::DuplicateUsername(username.clone()),
            other => AccountError::Store(other),
        })
}

/// The user whose username and password these are, or `None` — the same `None` whether the user does not exist
/// or the password is wrong, after the same amount of work.
pub async fn authenticate(
    store: &Store,
    username: &str,
    password: &str,
) -> Result<Option<UserRow>, StoreError> {
    let Ok(username) = normalise_username(username) else {
        return Ok(None);
    };
    if password.is_empty() || password.chars().count() > MAX_PASSWORD_CHARS {
        return Ok(None);
    }
    let user = store.user_by_username(&username).await?;
    let stored = user.as_ref().map_or_else(
        || decoy_hash().to_owned(),
        |user| user.password_hash.clone(),
    );
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    Ok(user.filter(|_| matches))
}

/// A session just opened: the token goes into the cookie (it is not stored), the CSRF token into every form.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub token: AccessToken,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Opens a session of [`SESSION_HOURS`] for `user_id`.
pub async fn open_session(
    store: &Store,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<OpenedSession, StoreError> {
    let token = AccessToken::generate();
    let csrf_token = AccessToken::generate().as_str().to_owned();
    let expires_at = now + Duration::hours(SESSION_HOURS);
    store
        .create_session(token.hash().as_str(), user_id, &csrf_token, expires_at, now)
        .await?;
    Ok(OpenedSession {
        token,
        csrf_token,
        expires_at,
    })
}

/// A signed-in user, as the pages see them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserRow,
    /// A role the code does not know (edited by hand in the database) reads but does not act.
    pub role: Role,
    pub csrf_token: String,
}

/// The user of the session whose token the browser presents, while it lasts.
pub async fn signed_in(
    store: &Store,
    presented_token: &str,
    now: DateTime<Utc>,
) -> Result<Option<SignedIn>, StoreError> {
    if presented_token.trim().is_empty() {
        return Ok(None);
    }
    let hash = TokenHash::of_presented(presented_token);
    Ok(store
        .session_user(hash.as_str(), now)
        .await?
        .map(|(user, csrf_token)| SignedIn {
            role: user.role.parse().unwrap_or(Role::Leader),
            user,
            csrf_token,
        }))
}

/// Ends the session whose token the browser presents.
pub async fn close_session(store: &Store, presented_token: &str) -> Result<(), StoreError> {
    store
        .delete_session(TokenHash::of_presented(presented_token).as_str())
        .await
}

/// Whether a form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(expected: &str, presented: &str) -> bool {
    !expected.is_empty()
        && !presented.is_empty()
        && TokenHash::of_presented(expected).matches(&TokenHash::of_presented(presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        // Arrange
        let hash = hash_password("正确的密码1234").unwrap();

        // Act / Assert
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("正确的密码1234", &hash));
        assert!(!verify_password("错误的密码1234", &hash));
        assert!(!verify_password("正确的密码1234", "not a hash"));
        assert_ne!(hash, hash_password("正确的密码1234").unwrap(), "fresh salt");
    }

    #[test]
    fn passwords_are_counted_in_characters() {
        assert!(matches!(
            check_password("短密码123"),
            Err(AccountError::PasswordTooShort)
        ));
        assert!(check_password("滕州市推进中心工作台").is_ok());
        assert!(matches!(
            check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)),
            Err(AccountError::PasswordTooLong)
        ));
    }

    #[test]
    fn usernames_are_plain_ascii_in_lower_case() {
        assert_eq!(normalise_username(" Zhang.Wei ").unwrap(), "zhang.wei");
        for bad in ["", "a", "张伟", "zhang wei", &"a".repeat(33)] {
            assert!(normalise_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_parse_from_code_or_chinese_and_only_the_centre_acts() {
        assert_eq!("centre".parse::<Role>().unwrap(), Role::Centre);
        assert_eq!("领导".parse::<Role>().unwrap(), Role::Leader);
        assert!("admin".parse::<Role>().is_err());
        assert!(Role::Centre.can_act());
        assert!(!Role::Leader.can_act());
    }

    #[test]
    fn csrf_tokens_must_be_present_and_equal() {
        assert!(csrf_matches("abc", "abc"));
        assert!(!csrf_matches("abc", "abd"));
        assert!(!csrf_matches("", ""));
        assert!(!csrf_matches("abc", ""));
    }
}
