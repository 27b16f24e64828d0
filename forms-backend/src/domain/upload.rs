//! 上传文件: the scan of a signed and sealed paper form a unit uploads (不满意诉求审核反馈表). What a file is
//! comes from its content — the first bytes and the end marker of a PDF, JPEG or PNG — never from the name or
//! the Content-Type the browser sends, so a page or a program renamed to `.pdf` is refused.

use std::fmt;

use sha2::{Digest, Sha256};

/// The kinds of file accepted: what a scanner or a phone camera produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Pdf,
    Jpeg,
    Png,
}

impl MediaType {
    /// The MIME type the file is served with.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
        }
    }

    /// The extension the stored name gets, whatever the uploaded name said.
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Pdf => "pdf",
            MediaType::Jpeg => "jpg",
            MediaType::Png => "png",
        }
    }

    /// What users read: PDF, JPG, PNG.
    pub fn label(self) -> &'static str {
        match self {
            MediaType::Pdf => "PDF",
            MediaType::Jpeg => "JPG",
            MediaType::Png => "PNG",
        }
    }

    /// The type of a stored MIME type.
    pub fn from_mime(mime: &str) -> Option<MediaType> {
        [MediaType::Pdf, MediaType::Jpeg, MediaType::Png]
            .into_iter()
            .find(|kind| kind.mime() == mime)
    }

    /// Recognises a file by its content: the signature at the start and the end marker, so a truncated upload
    /// is caught too. Anything else is [`UploadError::NotAllowed`].
    pub fn sniff(content: &[u8]) -> Result<MediaType, UploadError> {
        let tail = &content[content.len().saturating_sub(1024)..];
        let contains = |haystack: &[u8], needle: &[u8]| {
            haystack
                .windows(needle.len())
                .any(|window| window == needle)
        };
        let kind = if content.starts_with(b"%PDF-") {
            MediaType::Pdf
        } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            MediaType::Jpeg
        } else if content.starts_with(b"\x89PNG\r\n\x1a\n") && content.get(12..16) == Some(b"IHDR")
        {
            MediaType::Png
        } else {
            return Err(UploadError::NotAllowed);
        };
        let complete = match kind {
            MediaType::Pdf => contains(tail, b"%%EOF"),
            MediaType::Jpeg => contains(tail, &[0xFF, 0xD9]),
            MediaType::Png => contains(tail, b"IEND"),
        };
        if complete {
            Ok(kind)
        } else {
            Err(UploadError::Truncated(kind.label()))
        }
    }
}

/// Why an uploaded file is refused; the message is for the unit's staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("上传的文件是空的，请重新选择签字盖章后的扫描件")]
    Empty,
    #[error("文件超过 {} 的上限，请降低扫描分辨率或压缩后重新上传", human_size(*.limit as u64))]
    TooLarge { limit: usize },
    #[error(
        "只能上传 PDF、JPG 或 PNG 格式的扫描件；所选文件的内容不是这几种格式（仅修改文件扩展名无效）"
    )]
    NotAllowed,
    #[error("文件不完整（{0} 文件缺少结尾），请重新扫描或导出后上传")]
    Truncated(&'static str),
}

/// A checked upload: its detected type, a safe name, its size and SHA-256.
#[derive(Clone)]
pub struct UploadedFile {
    pub media_type: MediaType,
    /// The uploaded name reduced to letters, digits and a few marks, with the extension of the detected type.
    pub file_name: String,
    /// SHA-256 of the content, lower-case hex: what the task force can quote to identify the file.
    pub sha256: String,
    pub content: Vec<u8>,
}

impl fmt::Debug for UploadedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadedFile")
            .field("media_type", &self.media_type)
            .field("file_name", &self.file_name)
            .field("size", &self.content.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// The name used when the uploaded one has nothing usable left.
pub const DEFAULT_FILE_NAME: &str = "不满意诉求审核反馈表";

impl UploadedFile {
    /// Checks an upload of at most `limit` bytes, named `file_name` by the browser.
    pub fn parse(
        file_name: &str,
        content: Vec<u8>,
        limit: usize,
    ) -> Result<UploadedFile, UploadError> {
        if content.is_empty() {
            return Err(UploadError::Empty);
        }
        if content.len() > limit {
            return Err(UploadError::TooLarge { limit });
        }
        let media_type = MediaType::sniff(&content)?;
        let sha256 = Sha256::digest(&content)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(UploadedFile {
            media_type,
            file_name: safe_file_name(file_name, media_type),
            sha256,
            content,
        })
    }

    pub fn size(&self) -> usize {
        self.content.len()
    }
}

/// The last path component of `given`, keeping letters (Chinese too), digits, spaces and `.-_()（）`, the rest
/// replaced by `_`, at most 80 characters, with the extension of the detected type.
pub fn safe_file_name(given: &str, media_type: MediaType) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_alphanumeric() || " .-_()（）".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = match cleaned.rsplit_once('.') {
        Some((stem, extension))
            if ["pdf", "jpg", "jpeg", "png"].contains(&extension.to_ascii_lowercase().as_str()) =>
        {
            stem
        }
        _ => cleaned.as_str(),
    };
    let stem: String = stem
        .trim_matches(|c: char| c == '.' || c == ' ' || c == '_')
        .chars()
        .take(80)
        .collect();
    let stem = if stem.is_empty() {
        DEFAULT_FILE_NAME
    } else {
        &stem
    };
    format!("{stem}.{}", media_type.extension())
}

/// A size as people read it: 850 KB, 1.5 MB, 10 MB.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        let tenths = (bytes * 10 + MB / 2) / MB;
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KB", bytes.div_ceil(KB).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1024 * 1024;

    fn pdf() -> Vec<u8> {
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
            .to_vec()
    }

    fn jpeg() -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        bytes.extend_from_slice(b"JFIF\0 scanned form");
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        bytes
    }

    fn png() -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend_from_slice(&[0; 17]);
        bytes.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
        bytes
    }

    #[test]
    fn pdf_jpeg_and_png_are_recognised_by_their_content() {
        for (content, kind) in [
            (pdf(), MediaType::Pdf),
            (jpeg(), MediaType::Jpeg),
            (png(), MediaType::Png),
        ] {
            let file = UploadedFile::parse("scan", content, LIMIT).unwrap();
            assert_eq!(file.media_type, kind);
            assert_eq!(file.sha256.len(), 64);
        }
    }

    #[test]
    fn a_renamed_page_or_program_is_refused_whatever_its_name() {
        for content in [
            b"<html><script>alert(1)</script></html>".to_vec(),
            b"MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode".to_vec(),
            b"PK\x03\x04 word/document.xml".to_vec(),
            b"GIF89a\x01\x00".to_vec(),
            b" %PDF-1.7 with a leading space %%EOF".to_vec(),
        ] {
            assert_eq!(
                UploadedFile::parse("反馈表.pdf", content, LIMIT).unwrap_err(),
                UploadError::NotAllowed
            );
        }
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let mut cut = pdf();
        cut.truncate(20);
        assert_eq!(
            UploadedFile::parse("a.pdf", cut, LIMIT).unwrap_err(),
            UploadError::Truncated("PDF")
        );
        let mut cut = jpeg();
        cut.truncate(8);
        assert!(matches!(
            UploadedFile::parse("a.jpg", cut, LIMIT),
            Err(UploadError::Truncated("JPG"))
        ));
    }

    #[test]
    fn empty_and_oversize_files_are_refused_with_the_limit_in_the_message() {
        assert_eq!(
            UploadedFile::parse("a.pdf", Vec::new(), LIMIT).unwrap_err(),
            UploadError::Empty
        );
        let mut big = pdf();
        big.resize(10 * 1024 * 1024 + 1, b' ');
        let error = UploadedFile::parse("a.pdf", big, 10 * 1024 * 1024).unwrap_err();
        assert_eq!(
            error.to_string(),
            "文件超过 10 MB 的上限，请降低扫描分辨率或压缩后重新上传"
        );
    }

    #[test]
    fn names_keep_chinese_lose_paths_and_markup_and_get_the_real_extension() {
        assert_eq!(
            safe_file_name("不满意诉求审核反馈表（盖章）.PDF", MediaType::Pdf),
            "不满意诉求审核反馈表（盖章）.pdf"
        );
        assert_eq!(
            safe_file_name("C:\\Users\\科员\\扫描 001.jpeg", MediaType::Jpeg),
            "扫描 001.jpg"
        );
        assert_eq!(
            safe_file_name("../../etc/passwd", MediaType::Png),
            "passwd.png"
        );
        // A PNG named .pdf is stored as what it is.
        assert_eq!(safe_file_name("form.pdf", MediaType::Png), "form.png");
        let hostile = safe_file_name("<img src=x onerror=alert(1)>\"';.pdf", MediaType::Pdf);
        assert!(
            !hostile.contains(['<', '>', '"', '\'', ';', '=']),
            "{hostile}"
        );
        assert!(hostile.ends_with(".pdf"));
        assert_eq!(
            safe_file_name("<>.pdf", MediaType::Pdf),
            "不满意诉求审核反馈表.pdf"
        );
        assert_eq!(
            safe_file_name("...", MediaType::Pdf),
            "不满意诉求审核反馈表.pdf"
        );
        assert_eq!(
            safe_file_name(&"长".repeat(300), MediaType::Pdf)
                .chars()
                .count(),
            84
        );
        assert!(!safe_file_name("a\r\nContent-Type: text/html.pdf", MediaType::Pdf).contains('\n'));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MB");
        assert_eq!(human_size(1536 * 1024), "1.5 MB");
        assert_eq!(human_size(850 * 1024), "850 KB");
        assert_eq!(human_size(3), "1 KB");
    }
}
