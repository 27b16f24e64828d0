//! Domain types of the forms backend: values that parse from user input and cannot be invalid afterwards.

mod channel;
mod credit_code;
mod email;
mod field_error;
mod full_width;
mod new_request;
mod phone;
mod rating;
mod request_kind;
mod text;
mod token;
mod tracking;
mod upload;

pub use channel::{Channel, UnknownChannel};
pub use credit_code::{CreditCode, CreditCodeError};
pub use email::{Email, EmailError};
pub use field_error::{FieldError, FieldErrors};
pub(crate) use full_width::fold_full_width;
pub use new_request::{NewRequest, RequestForm};
pub use phone::{Phone, PhoneError, PhoneKind};
pub use rating::{Rating, UnknownRating};
pub use request_kind::{RequestKind, UnknownRequestKind};
pub use text::{Description, EnterpriseName, EntryNote, PersonName, ShortText, TownName};
pub use token::{AccessToken, InvalidTokenHash, TokenHash};
pub use tracking::{TrackingNumber, TrackingNumberError};
pub use upload::{MediaType, UploadError, UploadedFile, human_size, safe_file_name};
