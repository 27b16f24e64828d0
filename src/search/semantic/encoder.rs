//! The sentence encoder (句向量编码器): a BERT-style transformer (multilingual-e5-small: 12 layers, 384 wide)
//! run on the CPU with candle. The model file's 4-bit weight matrices are widened to f32 at load; the word
//! embeddings stay 4-bit and only the rows a text uses are widened. A text's vector is the mean of its last hidden states over
//! all its tokens, L2-normalised.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor, ggml_file::qtensor_from_ggml};
use candle_core::{DType as CandleType, Device, Module, Tensor};

use super::SemanticError;
use super::format::{DType, Hyper, ModelFile};

/// A linear layer: a 4-bit weight matrix `[out, in]` and an f32 bias.
struct Linear {
    weight: QMatMul,
    bias: Tensor,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.weight.forward(x)?.broadcast_add(&self.bias)
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    output_norm: Norm,
}

/// The encoder's weights, ready to run.
pub struct Encoder {
    pub hyper: Hyper,
    word: QTensor,
    positions: Tensor,
    token_type: Tensor,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    device: Device,
}

impl Encoder {
    /// Builds the encoder from a parsed model file, checking every tensor's shape.
    pub fn new(model: &ModelFile) -> Result<Encoder, SemanticError> {
        let device = Device::Cpu;
        let hyper = model.hyper;
        let h = hyper.hidden;
        let f32_tensor = |name: &str, shape: &[usize]| -> Result<Tensor, SemanticError> {
            let raw = model.tensor(name, DType::F32, shape.iter().product())?;
            let values: Vec<f32> = raw
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok(Tensor::from_vec(values, shape, &device)?)
        };
        let q4_tensor = |name: &str, rows: usize, cols: usize| -> Result<QTensor, SemanticError> {
            let raw = model.tensor(name, DType::Q4_0, rows * cols)?;
            Ok(qtensor_from_ggml(
                GgmlDType::Q4_0,
                &raw.data,
                vec![rows, cols],
                &device,
            )?)
        };
        // The weight matrices are widened to f32 once at load (85 MB for e5-small): on these CPUs candle's f32
        // matrix product is about twice as fast as its 4-bit one for the few dozen tokens of a question.
        let linear = |prefix: &str, rows: usize, cols: usize| -> Result<Linear, SemanticError> {
            let weight = q4_tensor(&format!("{prefix}.w"), rows, cols)?.dequantize(&device)?;
            Ok(Linear {
                weight: QMatMul::Tensor(weight),
                bias: f32_tensor(&format!("{prefix}.b"), &[rows])?,
            })
        };
        let norm = |prefix: &str| -> Result<Norm, SemanticError> {
            Ok(Norm {
                weight: f32_tensor(&format!("{prefix}.w"), &[h])?,
                bias: f32_tensor(&format!("{prefix}.b"), &[h])?,
            })
        };
        let mut layers = Vec::with_capacity(hyper.layers);
        for l in 0..hyper.layers {
            layers.push(Layer {
                query: linear(&format!("l{l}.q"), h, h)?,
                key: linear(&format!("l{l}.k"), h, h)?,
                value: linear(&format!("l{l}.v"), h, h)?,
                attention_out: linear(&format!("l{l}.ao"), h, h)?,
                attention_norm: norm(&format!("l{l}.aln"))?,
                ffn_in: linear(&format!("l{l}.fi"), hyper.ffn, h)?,
                ffn_out: linear(&format!("l{l}.fo"), h, hyper.ffn)?,
                output_norm: norm(&format!("l{l}.oln"))?,
            });
        }
        let token_types = f32_tensor("emb.type", &[hyper.type_vocab, h])?;
        Ok(Encoder {
            hyper,
            word: q4_tensor("emb.word", hyper.vocab_rows, h)?,
            positions: f32_tensor("emb.pos", &[hyper.max_positions, h])?,
            token_type: token_types.get(0)?,
            embedding_norm: norm("emb.ln")?,
            layers,
            device,
        })
    }

    /// Longest input (in tokens, sentence markers included) the position table allows.
    pub fn max_tokens(&self) -> usize {
        self.hyper.max_positions
    }

    /// The mean of the last hidden states of each sequence (not normalised). Every sequence already carries its
    /// sentence markers and fits [`Encoder::max_tokens`]; the sequences are run together, each attending only
    /// to its own tokens, so the matrix products stream each weight once for the whole batch.
    pub fn mean_states(&self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, SemanticError> {
        Ok(self.forward(sequences)?)
    }

    fn forward(&self, sequences: &[Vec<u32>]) -> candle_core::Result<Vec<Vec<f32>>> {
        if sequences.is_empty() {
            return Ok(Vec::new());
        }
        let hyper = &self.hyper;
        let ids: Vec<u32> = sequences.iter().flatten().copied().collect();
        let positions: Vec<u32> = sequences
            .iter()
            .flat_map(|sequence| 0..sequence.len() as u32)
            .collect();
        let spans: Vec<(usize, usize)> = sequences
            .iter()
            .scan(0, |start, sequence| {
                let span = (*start, sequence.len());
                *start += sequence.len();
                Some(span)
            })
            .collect();
        let ids = Tensor::new(ids.as_slice(), &self.device)?;
        let positions = Tensor::new(positions.as_slice(), &self.device)?;
        let x = self
            .word
            .embedding(&ids)?
            .add(&self.positions.index_select(&positions, 0)?)?
            .broadcast_add(&self.token_type)?;
        let mut x = self.norm(&x, &self.embedding_norm)?;
        let heads = hyper.heads;
        let head_width = hyper.hidden / heads;
        let scale = 1.0 / (head_width as f64).sqrt();
        for layer in &self.layers {
            let q = layer.query.forward(&x)?;
            let k = layer.key.forward(&x)?;
            let v = layer.value.forward(&x)?;
            let mut contexts = Vec::with_capacity(spans.len());
            for &(start, len) in &spans {
                let split = |t: &Tensor| -> candle_core::Result<Tensor> {
                    t.narrow(0, start, len)?
                        .reshape((len, heads, head_width))?
                        .transpose(0, 1)?
                        .contiguous()
                };
                let (q, k, v) = (split(&q)?, split(&k)?, split(&v)?);
                let weights = (q.matmul(&k.t()?)? * scale)?;
                let weights = candle_nn::ops::softmax_last_dim(&weights)?;
                let context = weights
                    .matmul(&v)?
                    .transpose(0, 1)?
                    .reshape((len, hyper.hidden))?;
                contexts.push(context);
            }
            let context = Tensor::cat(&contexts, 0)?;
            let attended = layer.attention_out.forward(&context)?;
            x = self.norm(&(x + attended)?, &layer.attention_norm)?;
            let middle = layer.ffn_in.forward(&x)?.gelu_erf()?;
            let out = layer.ffn_out.forward(&middle)?;
            x = self.norm(&(x + out)?, &layer.output_norm)?;
        }
        spans
            .iter()
            .map(|&(start, len)| {
                x.narrow(0, start, len)?
                    .mean(0)?
                    .to_dtype(CandleType::F32)?
                    .to_vec1::<f32>()
            })
            .collect()
    }

    fn norm(&self, x: &Tensor, norm: &Norm) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &norm.weight, &norm.bias, self.hyper.eps)
    }
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 1e-12 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}
