//! Chinese text analysis (中文分词与归一化) shared by the indexer and the query side:
//! normalisation → jieba segmentation in search mode (long words and their parts) with the policy-term user
//! dictionary → tokens; a character-bigram tokenizer as a recall backstop; stop words and synonyms for queries.

use std::collections::{HashMap, HashSet};
use std::io::BufReader;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use jieba_rs::Jieba;
use serde::Deserialize;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Name under which the word tokenizer is registered in the index.
pub const WORDS: &str = "qihu_words";
/// Name under which the bigram tokenizer is registered in the index.
pub const BIGRAMS: &str = "qihu_bigrams";

/// The analysis data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("读取检索词典 {path} 失败：{source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("检索词典 {path} 格式有误：{message}")]
    Format { path: String, message: String },
}

/// Normalises text before segmentation: full-width → half-width, traditional → simplified, ASCII case folding,
/// and document-number brackets (〔2022〕, [2022], (2022), 【2022】 → [2022]).
///
/// Every character maps to exactly one character, so character positions in the normalised text are positions
/// in the original (snippets rely on it).
pub fn normalise(text: &str) -> String {
    let mut half = String::with_capacity(text.len());
    let mut simplified = true;
    for c in text.chars() {
        let c = normalise_char(c);
        simplified = simplified && !may_be_traditional(c);
        half.push(c);
    }
    // fast2s looks every character up in a few hash maps; most policy text is simplified already, and a
    // character it would leave alone in any context needs no look-up.
    if simplified {
        half
    } else {
        fast2s::convert(&half)
    }
}

/// Whether fast2s may change `c` (alone or in some context): a table of the Basic Multilingual Plane made once.
fn may_be_traditional(c: char) -> bool {
    static TABLE: LazyLock<Vec<u64>> = LazyLock::new(|| {
        // Characters fast2s converts only in some words, or leaves alone only in some words.
        const CONTEXTUAL: &str = "兒覆夥藉瞭麽幺於乾著苧闔鍾讎畫";
        let mut table = vec![0u64; 0x1_0000 / 64];
        let mut buffer = [0u8; 4];
        for code in 0x0800u32..0x1_0000 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let alone: &str = c.encode_utf8(&mut buffer);
            if CONTEXTUAL.contains(c) || fast2s::convert(alone) != alone {
                table[code as usize / 64] |= 1 << (code % 64);
            }
        }
        table
    });
    let code = c as usize;
    // fast2s converts three-byte characters only (U+0800..U+FFFF).
    (0x0800..0x1_0000).contains(&code) && TABLE[code / 64] & (1 << (code % 64)) != 0
}

fn normalise_char(c: char) -> char {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    match c {
        '〔' | '【' | '﹝' | '(' | '〖' => '[',
        '〕' | '】' | '﹞' | ')' | '〗' => ']',
        c if c.is_control() => ' ',
        c => c.to_ascii_lowercase(),
    }
}

/// True for characters of the CJK unified ideographs blocks.
pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// A token worth indexing or searching: it has a letter, digit or ideograph.
fn is_meaningful(word: &str) -> bool {
    word.chars().any(|c| c.is_alphanumeric())
}

/// Synonym groups (同义词表) read from `config/search/synonyms.toml`.
#[derive(Debug, Default, Clone)]
pub struct Synonyms {
    /// term → (other term, relation)
    map: HashMap<String, Vec<(String, Relation)>>,
}

/// How close two terms of a synonym group are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The same thing in other words (社保 = 社会保险).
    Equivalent,
    /// Close but not the same (小微企业 vs 小型微利企业): answers through it deserve less confidence.
    Related,
}

impl Relation {
    /// Weight of a query term reached through this relation, relative to the user's own words.
    pub fn weight(self) -> f32 {
        match self {
            Relation::Equivalent => 0.7,
            Relation::Related => 0.35,
        }
    }
}

#[derive(Deserialize)]
struct SynonymFile {
    #[serde(default)]
    group: Vec<SynonymGroup>,
}

#[derive(Deserialize)]
struct SynonymGroup {
    kind: Relation,
    terms: Vec<String>,
}

impl Synonyms {
    pub fn parse(text: &str, path: &str) -> Result<Synonyms, AnalysisError> {
        let file: SynonymFile = toml::from_str(text).map_err(|error| AnalysisError::Format {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
        let mut map: HashMap<String, Vec<(String, Relation)>> = HashMap::new();
        for group in file.group {
            let terms: Vec<String> = group
                .terms
                .iter()
                .map(|term| normalise(term.trim()))
                .filter(|term| !term.is_empty())
                .collect();
            for term in &terms {
                let entry = map.entry(term.clone()).or_default();
                for other in &terms {
                    if other != term && !entry.iter().any(|(known, _)| known == other) {
                        entry.push((other.clone(), group.kind));
                    }
                }
            }
        }
        Ok(Synonyms { map })
    }

    /// The terms that may stand for `term`, with how close they are.
    pub fn of(&self, term: &str) -> &[(String, Relation)] {
        self.map.get(term).map_or(&[], Vec::as_slice)
    }
}

/// Everything needed to analyse text: the segmenter with its user dictionary, stop words and synonyms.
pub struct Analyzer {
    jieba: Jieba,
    stopwords: HashSet<String>,
    pub synonyms: Synonyms,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("stopwords", &self.stopwords.len())
            .finish_non_exhaustive()
    }
}

/// File names inside the analysis folder (`config/search/`).
pub const DICTIONARY_FILE: &str = "dictionary.txt";
pub const SYNONYMS_FILE: &str = "synonyms.toml";
pub const STOPWORDS_FILE: &str = "stopwords.txt";

impl Analyzer {
    /// Reads the user dictionary, synonyms and stop words from `dir`; a missing file means "none".
    pub fn load(dir: &Path) -> Result<Analyzer, AnalysisError> {
        let read = |name: &str| -> Result<String, AnalysisError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(text),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                Err(source) => Err(AnalysisError::Read {
                    path: path.display().to_string(),
                    source,
                }),
            }
        };
        let dictionary = read(DICTIONARY_FILE)?;
        let synonyms = read(SYNONYMS_FILE)?;
        let stopwords = read(STOPWORDS_FILE)?;
        Analyzer::from_texts(
            &dictionary,
            &Synonyms::parse(&synonyms, &dir.join(SYNONYMS_FILE).display().to_string())?,
            &stopwords,
        )
    }

    /// Builds an analyzer from the texts of the three files.
    pub fn from_texts(
        dictionary: &str,
        synonyms: &Synonyms,
        stopwords: &str,
    ) -> Result<Analyzer, AnalysisError> {
        let mut jieba = Jieba::new();
        let entries: String = dictionary
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let mut parts = line.split_whitespace();
                let word = normalise(parts.next().unwrap_or_default());
                let rest: Vec<&str> = parts.collect();
                format!("{word} {}\n", rest.join(" "))
            })
            .collect();
        jieba
            .load_dict(&mut BufReader::new(entries.as_bytes()))
            .map_err(|error| AnalysisError::Format {
                path: DICTIONARY_FILE.to_owned(),
                message: error.to_string(),
            })?;
        // Synonym terms are words too: a term the segmenter cuts apart could never match as a whole.
        let mut synonym_terms: Vec<&String> = synonyms.map.keys().collect();
        synonym_terms.sort();
        for term in synonym_terms {
            if term.chars().count() >= 2 && term.chars().all(is_cjk) && !jieba.has_word(term) {
                jieba.add_word(term, None, None);
            }
        }
        let stopwords = stopwords
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(normalise)
            .collect();
        Ok(Analyzer {
            jieba,
            stopwords,
            synonyms: synonyms.clone(),
        })
    }

    pub fn is_stopword(&self, word: &str) -> bool {
        self.stopwords.contains(word)
    }

    /// Search-mode segmentation of already normalised text: every word and, for long words, their parts
    /// (小型微利企业 → 小型 / 微利 / 企业 / 小型微利企业). Byte offsets refer to `normalised`.
    pub fn segment_for_search<'a>(&self, normalised: &'a str) -> Vec<(usize, usize, &'a str)> {
        self.jieba
            .cut_for_search(normalised, true)
            .into_iter()
            .filter(|token| is_meaningful(token.word) && !token.word.trim().is_empty())
            .map(|token| (token.byte_start, token.byte_end, token.word))
            .collect()
    }

    /// Plain segmentation (longest words only) of normalised text, for a query's key terms.
    pub fn segment<'a>(&self, normalised: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut(normalised, true)
            .into_iter()
            .map(|token| token.word)
            .filter(|word| is_meaningful(word) && !word.trim().is_empty())
            .collect()
    }
}

/// Character bigrams of the ideograph runs of normalised text, plus its ASCII letter/digit runs whole
/// (300万元 → 300, 万元). A run of one ideograph is kept as a unigram.
pub fn bigrams(normalised: &str) -> Vec<(usize, usize, String)> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = normalised.char_indices().collect();
    let mut index = 0;
    while index < chars.len() {
        let (start, c) = chars[index];
        if is_cjk(c) {
            let run_start = index;
            while index < chars.len() && is_cjk(chars[index].1) {
                index += 1;
            }
            let run = &chars[run_start..index];
            let end_of = |i: usize| {
                chars
                    .get(i + 1)
                    .map_or(normalised.len(), |(offset, _)| *offset)
            };
            if run.len() == 1 {
                tokens.push((start, end_of(run_start), c.to_string()));
            }
            for (pair, &(from, _)) in run.iter().enumerate().take(run.len().saturating_sub(1)) {
                let to = end_of(run_start + pair + 1);
                tokens.push((from, to, normalised[from..to].to_owned()));
            }
        } else if c.is_ascii_alphanumeric() {
            let run_start = start;
            while index < chars.len() && chars[index].1.is_ascii_alphanumeric() {
                index += 1;
            }
            let end = chars
                .get(index)
                .map_or(normalised.len(), |(offset, _)| *offset);
            tokens.push((run_start, end, normalised[run_start..end].to_owned()));
        } else {
            index += 1;
        }
    }
    tokens
}

/// The tantivy tokenizer for word fields.
#[derive(Clone)]
pub struct WordTokenizer {
    analyzer: Arc<Analyzer>,
    token: Token,
}

impl WordTokenizer {
    pub fn new(analyzer: Arc<Analyzer>) -> WordTokenizer {
        WordTokenizer {
            analyzer,
            token: Token::default(),
        }
    }
}

/// The tantivy tokenizer for bigram fields.
#[derive(Clone, Default)]
pub struct BigramTokenizer {
    token: Token,
}

/// Tokens computed up front (jieba works on whole strings) and handed out one by one.
pub struct VecTokenStream<'a> {
    tokens: Vec<(usize, usize, String)>,
    index: usize,
    token: &'a mut Token,
}

impl TokenStream for VecTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some((from, to, text)) = self.tokens.get_mut(self.index) else {
            return false;
        };
        self.token.offset_from = *from;
        self.token.offset_to = *to;
        self.token.position = self.index;
        self.token.text.clear();
        self.token.text.push_str(text);
        self.token.position_length = 1;
        self.index += 1;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        let tokens = self.analyzer.word_tokens(text);
        self.token.reset();
        VecTokenStream {
            tokens,
            index: 0,
            token: &mut self.token,
        }
    }
}

impl Analyzer {
    /// The tokens of a word field (normalised, search-mode segmentation) with their byte offsets.
    pub fn word_tokens(&self, text: &str) -> Vec<(usize, usize, String)> {
        let normalised = normalise(text);
        self.segment_for_search(&normalised)
            .into_iter()
            .map(|(from, to, word)| (from, to, word.to_owned()))
            .collect()
    }
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        let tokens = bigrams(&normalise(text));
        self.token.reset();
        VecTokenStream {
            tokens,
            index: 0,
            token: &mut self.token,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn test_analyzer() -> Analyzer {
        let synonyms = Synonyms::parse(
            "[[group]]\nkind = \"equivalent\"\nterms = [\"社保\", \"社会保险\"]\n\
             [[group]]\nkind = \"related\"\nterms = [\"小微企业\", \"小型微利企业\"]\n",
            "synonyms.toml",
        )
        .unwrap();
        Analyzer::from_texts(
            "专精特新 50000 n\n# 注释\n加计扣除 50000 n\n",
            &synonyms,
            "的\n吗\n哪些\n",
        )
        .unwrap()
    }

    #[test]
    fn normalisation_keeps_one_character_per_character() {
        let text = "滕政办发〔２０２２〕1号 ＡＢＣ 社會保險（试行）";
        let normalised = normalise(text);
        assert_eq!(normalised, "滕政办发[2022]1号 abc 社会保险[试行]");
        assert_eq!(normalised.chars().count(), text.chars().count());
    }

    #[test]
    fn the_simplified_fast_path_gives_what_fast2s_gives() {
        for text in [
            "滕政办发〔2022〕1号 企业所得税减按25%计入应纳税所得额",
            "社會保險費緩繳，營業執照辦理",
            "答覆批覆 乾隆 計畫 看著",
            "简体中文里没有繁体字。",
        ] {
            let half: String = text.chars().map(normalise_char).collect();
            assert_eq!(normalise(text), fast2s::convert(&half), "{text}");
        }
        assert!(may_be_traditional('會') && !may_be_traditional('会'));
    }

    #[test]
    fn search_mode_indexes_long_words_and_their_parts() {
        let analyzer = test_analyzer();
        let words: Vec<&str> = analyzer
            .segment_for_search("小型微利企业享受加计扣除")
            .into_iter()
            .map(|(_, _, word)| word)
            .collect();
        for expected in ["小型", "微利", "企业", "小型微利企业", "加计扣除"] {
            assert!(
                words.contains(&expected),
                "{expected} missing from {words:?}"
            );
        }
    }

    #[test]
    fn user_dictionary_keeps_policy_terms_whole() {
        let analyzer = test_analyzer();
        assert!(analyzer.segment("专精特新企业").contains(&"专精特新"));
    }

    #[test]
    fn bigrams_cover_drifting_segmentation_and_keep_numbers() {
        let grams: Vec<String> = bigrams("中小微企业300万元")
            .into_iter()
            .map(|t| t.2)
            .collect();
        assert_eq!(grams, ["中小", "小微", "微企", "企业", "300", "万元"]);
    }

    #[test]
    fn synonyms_are_symmetric_with_their_relation() {
        let analyzer = test_analyzer();
        assert_eq!(
            analyzer.synonyms.of("社会保险"),
            [("社保".to_owned(), Relation::Equivalent)]
        );
        assert_eq!(analyzer.synonyms.of("小微企业")[0].1, Relation::Related);
        assert!(analyzer.is_stopword("哪些"));
    }
}
