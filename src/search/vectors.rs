//! Passage vectors (段落向量) beside the lexical index: the passages (`passages.json`) and their unit vectors
//! (`vectors.bin`), and the cache that lets a rebuild embed only the passages whose text changed.
//!
//! `vectors.bin`: `QVEC1`, the model's SHA-256 (64 hex characters), u32 dimension, u32 count, then count ×
//! dimension f32, little-endian. The cache file has the same header (`QVC1`) followed by entries of a 32-byte
//! SHA-256 of the embedded text and its vector.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use super::SearchError;
use super::passages::Passage;
use super::semantic::{Embedder, SemanticError};

pub const PASSAGES_FILE: &str = "passages.json";
pub const VECTORS_FILE: &str = "vectors.bin";
const VECTORS_MAGIC: &[u8; 5] = b"QVEC1";
const CACHE_MAGIC: &[u8; 4] = b"QVC1";
/// Entries the cache keeps at most: the passages of the last build first, then older ones (several corpora
/// built on one machine share it).
const CACHE_LIMIT: usize = 400_000;

type TextHash = [u8; 32];

fn text_hash(text: &str) -> TextHash {
    Sha256::digest(text.as_bytes()).into()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What embedding the passages of a build did.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbedReport {
    pub passages: usize,
    /// Passages whose vector came from the cache.
    pub cached: usize,
}

/// Vectors of the passages of one build, in passage order.
pub struct BuiltVectors {
    pub passages: Vec<Passage>,
    pub vectors: Vec<Vec<f32>>,
    pub fingerprint: String,
    pub report: EmbedReport,
}

/// Embeds `passages` (with the texts the model reads), taking what it can from the cache at `cache_path` and
/// writing the cache back; `progress` is told how many passages are done.
pub fn embed_passages(
    embedder: &Embedder,
    passages: Vec<Passage>,
    texts: &[String],
    cache_path: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<BuiltVectors, SearchError> {
    let mut cache = Cache::read(cache_path, embedder).unwrap_or_else(|| Cache::empty(embedder));
    let hashes: Vec<TextHash> = texts.iter().map(|text| text_hash(text)).collect();
    let missing: Vec<usize> = (0..texts.len())
        .filter(|&i| !cache.entries.contains_key(&hashes[i]))
        .collect();
    let cached = texts.len() - missing.len();
    progress(0, missing.len());
    // Embedded in slices so the cache is saved now and then: an interrupted first build keeps what it did.
    let mut done = 0;
    for slice in missing.chunks(256) {
        let slice_texts: Vec<&str> = slice.iter().map(|&i| texts[i].as_str()).collect();
        let vectors = embedder
            .embed_passages(&slice_texts, |n| {
                done += n;
                progress(done, missing.len());
            })
            .map_err(semantic_error)?;
        for (&i, vector) in slice.iter().zip(vectors) {
            cache.entries.insert(hashes[i], vector);
        }
        cache.write(cache_path, &hashes)?;
    }
    if missing.is_empty() {
        cache.write(cache_path, &hashes)?;
    }
    let vectors = hashes
        .iter()
        .map(|hash| cache.entries[hash].clone())
        .collect();
    Ok(BuiltVectors {
        passages,
        vectors,
        fingerprint: embedder.fingerprint().to_owned(),
        report: EmbedReport {
            passages: texts.len(),
            cached,
        },
    })
}

fn semantic_error(error: SemanticError) -> SearchError {
    SearchError::Corrupt(error.to_string())
}

impl BuiltVectors {
    /// Writes `passages.json` and `vectors.bin` into an index folder being built.
    pub fn write(&self, dir: &Path) -> Result<(), SearchError> {
        let passages_path = dir.join(PASSAGES_FILE);
        let json = serde_json::to_vec(&self.passages)
            .map_err(|error| SearchError::Corrupt(error.to_string()))?;
        std::fs::write(&passages_path, json).map_err(io_error(&passages_path))?;
        let dimension = self.vectors.first().map_or(0, Vec::len);
        let mut bytes = Vec::with_capacity(77 + self.vectors.len() * dimension * 4);
        bytes.extend_from_slice(VECTORS_MAGIC);
        bytes.extend_from_slice(self.fingerprint.as_bytes());
        bytes.extend_from_slice(&(dimension as u32).to_le_bytes());
        bytes.extend_from_slice(&(self.vectors.len() as u32).to_le_bytes());
        for vector in &self.vectors {
            for value in vector {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
        }
        let vectors_path = dir.join(VECTORS_FILE);
        std::fs::write(&vectors_path, bytes).map_err(io_error(&vectors_path))
    }
}

/// The passage vectors of an opened index, as one matrix for similarity search.
pub struct PassageVectors {
    pub passages: Vec<Passage>,
    /// The vectors row by row, and the same numbers as one matrix for similarity search.
    values: Vec<f32>,
    dimension: usize,
    matrix: Tensor,
}

/// Why an index's vectors were not used.
#[derive(Debug, thiserror::Error)]
pub enum VectorsUnavailable {
    #[error("检索索引中没有语义向量（生成索引时未加载语义模型）")]
    Missing,
    #[error("检索索引中的语义向量由另一个模型生成，请重新运行 qihu build")]
    OtherModel,
    #[error(transparent)]
    Broken(#[from] SearchError),
}

impl PassageVectors {
    /// Reads the vectors of the index at `dir`, made by the model with `fingerprint`.
    pub fn open(dir: &Path, fingerprint: &str) -> Result<PassageVectors, VectorsUnavailable> {
        let vectors_path = dir.join(VECTORS_FILE);
        let passages_path = dir.join(PASSAGES_FILE);
        if !vectors_path.is_file() || !passages_path.is_file() {
            return Err(VectorsUnavailable::Missing);
        }
        let bytes = std::fs::read(&vectors_path).map_err(io_error(&vectors_path))?;
        let corrupt = || SearchError::Corrupt(format!("{} 已损坏", vectors_path.display()));
        if bytes.len() < 77 || &bytes[..5] != VECTORS_MAGIC {
            return Err(corrupt().into());
        }
        if &bytes[5..69] != fingerprint.as_bytes() {
            return Err(VectorsUnavailable::OtherModel);
        }
        let dimension = u32::from_le_bytes(bytes[69..73].try_into().expect("4 bytes")) as usize;
        let count = u32::from_le_bytes(bytes[73..77].try_into().expect("4 bytes")) as usize;
        if bytes.len() != 77 + count * dimension * 4 {
            return Err(corrupt().into());
        }
        let values: Vec<f32> = bytes[77..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let passages: Vec<Passage> = serde_json::from_slice(
            &std::fs::read(&passages_path).map_err(io_error(&passages_path))?,
        )
        .map_err(|error| SearchError::Corrupt(error.to_string()))?;
        if passages.len() != count {
            return Err(corrupt().into());
        }
        let matrix = Tensor::from_slice(&values, (count, dimension), &Device::Cpu)
            .map_err(|error| SearchError::Corrupt(error.to_string()))?;
        Ok(PassageVectors {
            passages,
            values,
            dimension,
            matrix,
        })
    }

    /// The vector of passage `index`.
    pub fn vector(&self, index: usize) -> &[f32] {
        &self.values[index * self.dimension..(index + 1) * self.dimension]
    }

    /// The `k` passages most similar to the unit vector `query`, most similar first, with their cosines.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        let Ok(similarities) = Tensor::from_slice(query, (query.len(), 1), &Device::Cpu)
            .and_then(|query| self.matrix.matmul(&query))
            .and_then(|column| column.flatten_all())
            .and_then(|column| column.to_vec1::<f32>())
        else {
            return Vec::new();
        };
        let mut ranked: Vec<(usize, f32)> = similarities.into_iter().enumerate().collect();
        let k = k.min(ranked.len());
        if k == 0 {
            return Vec::new();
        }
        ranked.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        ranked.truncate(k);
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
    }
}

/// Vectors by text hash for one model.
struct Cache {
    fingerprint: String,
    dimension: usize,
    entries: HashMap<TextHash, Vec<f32>>,
    /// Hashes in the order they were read (oldest builds last), for trimming.
    order: Vec<TextHash>,
}

impl Cache {
    fn empty(embedder: &Embedder) -> Cache {
        Cache {
            fingerprint: embedder.fingerprint().to_owned(),
            dimension: embedder.dimension(),
            entries: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// The cache at `path` when it exists and was made by this model; a missing, foreign or broken cache is
    /// simply not used.
    fn read(path: &Path, embedder: &Embedder) -> Option<Cache> {
        let bytes = std::fs::read(path).ok()?;
        let dimension = embedder.dimension();
        if bytes.len() < 76
            || &bytes[..4] != CACHE_MAGIC
            || &bytes[4..68] != embedder.fingerprint().as_bytes()
            || u32::from_le_bytes(bytes[68..72].try_into().ok()?) as usize != dimension
        {
            return None;
        }
        let count = u32::from_le_bytes(bytes[72..76].try_into().ok()?) as usize;
        let entry = 32 + dimension * 4;
        if bytes.len() != 76 + count * entry {
            return None;
        }
        let mut cache = Cache::empty(embedder);
        for chunk in bytes[76..].chunks_exact(entry) {
            let hash: TextHash = chunk[..32].try_into().ok()?;
            let vector = chunk[32..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            cache.entries.insert(hash, vector);
            cache.order.push(hash);
        }
        Some(cache)
    }

    /// Writes the cache, the passages of this build (`first`) before older entries, through a temporary file.
    fn write(&self, path: &Path, first: &[TextHash]) -> Result<(), SearchError> {
        let mut seen = std::collections::HashSet::new();
        let kept: Vec<&TextHash> = first
            .iter()
            .chain(&self.order)
            .chain(self.entries.keys())
            .filter(|hash| self.entries.contains_key(*hash) && seen.insert(**hash))
            .take(CACHE_LIMIT)
            .collect();
        let mut bytes = Vec::with_capacity(76 + kept.len() * (32 + self.dimension * 4));
        bytes.extend_from_slice(CACHE_MAGIC);
        bytes.extend_from_slice(self.fingerprint.as_bytes());
        bytes.extend_from_slice(&(self.dimension as u32).to_le_bytes());
        bytes.extend_from_slice(&(kept.len() as u32).to_le_bytes());
        for hash in kept {
            bytes.extend_from_slice(hash);
            for value in &self.entries[hash] {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let temporary = PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
        std::fs::write(&temporary, bytes).map_err(io_error(&temporary))?;
        std::fs::rename(&temporary, path).map_err(io_error(path))
    }
}

/// Where the vector cache of the index at `index_dir` lives: beside it, so a rebuild (which replaces the index
/// folder whole) keeps it.
pub fn default_cache_path(index_dir: &Path) -> PathBuf {
    let name = index_dir.file_name().map_or_else(
        || "index".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    index_dir.with_file_name(format!("{name}.vector-cache"))
}
