//! The model's tokenizer (分词器): XLM-RoBERTa's SentencePiece unigram model, run from the vocabulary in the
//! model file — code points folded by the normaliser's map, runs of spaces collapsed, a metaspace `▁` before
//! the text and for every space, then the most probable segmentation into pieces (Viterbi over piece scores).

use std::collections::HashMap;

use super::format::Vocabulary;

/// SentencePiece's word-boundary marker.
const METASPACE: char = '\u{2581}';

/// A unigram tokenizer over one vocabulary.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    ids: HashMap<String, u32>,
    scores: Vec<f32>,
    normalisation: HashMap<char, Vec<char>>,
    /// Score of an unknown character: below every piece, so a known piece always wins.
    unk_score: f32,
    max_piece_chars: usize,
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
}

impl Tokenizer {
    pub fn new(vocabulary: &Vocabulary) -> Tokenizer {
        let mut ids = HashMap::with_capacity(vocabulary.pieces.len());
        let mut max_piece_chars = 1;
        for (id, piece) in vocabulary.pieces.iter().enumerate() {
            let id = id as u32;
            if piece.is_empty() || id == vocabulary.unk {
                continue;
            }
            max_piece_chars = max_piece_chars.max(piece.chars().count());
            ids.entry(piece.clone()).or_insert(id);
        }
        let lowest = vocabulary
            .scores
            .iter()
            .copied()
            .fold(f32::INFINITY, f32::min);
        let normalisation = vocabulary
            .normalisation
            .iter()
            .filter_map(|(&from, to)| {
                let from = char::from_u32(from)?;
                let to = to.iter().filter_map(|&c| char::from_u32(c)).collect();
                Some((from, to))
            })
            .collect();
        Tokenizer {
            ids,
            scores: vocabulary.scores.clone(),
            normalisation,
            unk_score: lowest - 10.0,
            max_piece_chars,
            bos: vocabulary.bos,
            eos: vocabulary.eos,
            unk: vocabulary.unk,
        }
    }

    /// The text as the model sees it: normalised, spaces collapsed, `▁` for each space and at the start.
    fn normalise(&self, text: &str) -> Vec<char> {
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        for c in text.chars() {
            match self.normalisation.get(&c) {
                Some(replacement) => chars.extend(replacement),
                None => chars.push(c),
            }
        }
        // A run of spaces is one space.
        chars.dedup_by(|a, b| *a == ' ' && *b == ' ');
        let mut out = Vec::with_capacity(chars.len() + 1);
        if chars.first() != Some(&' ') {
            out.push(METASPACE);
        }
        out.extend(chars.iter().map(|&c| if c == ' ' { METASPACE } else { c }));
        out
    }

    /// The piece ids of `text`, without the sentence markers. Unknown characters in a row become one `<unk>`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let chars = self.normalise(text);
        let n = chars.len();
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        // For each end position: the piece that ends there (None: an unknown character) and where it starts.
        let mut back: Vec<(Option<u32>, usize)> = vec![(None, 0); n + 1];
        best[0] = 0.0;
        let mut piece = String::new();
        for start in 0..n {
            if best[start] == f32::NEG_INFINITY {
                continue;
            }
            piece.clear();
            for end in start + 1..=(start + self.max_piece_chars).min(n) {
                piece.push(chars[end - 1]);
                if let Some(&id) = self.ids.get(piece.as_str()) {
                    let score = best[start] + self.scores[id as usize];
                    if score > best[end] {
                        best[end] = score;
                        back[end] = (Some(id), start);
                    }
                }
            }
            let score = best[start] + self.unk_score;
            if score > best[start + 1] {
                best[start + 1] = score;
                back[start + 1] = (None, start);
            }
        }
        let mut ids = Vec::new();
        let mut end = n;
        while end > 0 {
            let (id, start) = back[end];
            match id {
                Some(id) => ids.push(id),
                None if ids.last() == Some(&self.unk) => {}
                None => ids.push(self.unk),
            }
            end = start;
        }
        ids.reverse();
        ids
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn vocabulary() -> Vocabulary {
        let pieces = [
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -3.0),
            ("税", -6.0),
            ("收", -6.0),
            ("税收", -7.0),
            ("▁税收", -8.0),
            ("优惠", -7.0),
            ("▁300", -6.0),
            ("万", -5.0),
        ];
        Vocabulary {
            pieces: pieces.iter().map(|(p, _)| p.to_string()).collect(),
            scores: pieces.iter().map(|(_, s)| *s).collect(),
            bos: 0,
            eos: 2,
            pad: 1,
            unk: 3,
            normalisation: BTreeMap::from([(0xFF13, vec![0x33]), (0x3000, vec![0x20])]),
        }
    }

    #[test]
    fn the_most_probable_pieces_win() {
        let tokenizer = Tokenizer::new(&vocabulary());
        // ▁税收 (−8) beats ▁ + 税收 (−10) and ▁ + 税 + 收 (−15).
        assert_eq!(tokenizer.encode("税收优惠"), vec![8, 9]);
    }

    #[test]
    fn spaces_become_metaspaces_and_full_width_digits_fold() {
        let tokenizer = Tokenizer::new(&vocabulary());
        // "３００万" folds to "300万"; the ideographic space becomes a space, then ▁.
        assert_eq!(tokenizer.encode("税收　３00万"), vec![8, 10, 11]);
        assert_eq!(tokenizer.encode("税收   300万"), vec![8, 10, 11]);
    }

    #[test]
    fn unknown_characters_in_a_row_are_one_unknown_piece() {
        let tokenizer = Tokenizer::new(&vocabulary());
        assert_eq!(tokenizer.encode("税收ÿÿ优惠"), vec![8, 3, 9]);
    }
}
