//! `qihu model`: look at, cut and try the sentence-embedding model (语义模型) that semantic retrieval uses.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{ModelArgs, ModelCommand, ModelCutArgs, ModelEmbedArgs};
use crate::config::Settings;
use crate::search::semantic::format::ModelFile;
use crate::search::semantic::{Embedder, cosine};

pub fn run(settings: &Settings, args: ModelArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ModelCommand::Info => info(&settings.search.model),
        ModelCommand::Cut(args) => cut(&args),
        ModelCommand::Embed(args) => embed(settings, &args),
    }
}

fn info(path: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("读取模型文件 {}", path.display()))?;
    let model = ModelFile::parse(&bytes)?;
    let embedder = Embedder::load(path)?;
    let hyper = model.hyper;
    println!(
        "模型文件：{}（{:.1} MB）",
        path.display(),
        bytes.len() as f64 / 1e6
    );
    println!("SHA-256：{}", embedder.fingerprint());
    println!(
        "结构：{} 层，宽 {}，{} 个注意力头，前馈 {}，最长 {} 个词元",
        hyper.layers, hyper.hidden, hyper.heads, hyper.ffn, hyper.max_positions
    );
    println!("词表：{} 个词元", model.vocabulary.pieces.len());
    Ok(ExitCode::SUCCESS)
}

/// Whether a piece is made only of characters Chinese policy text uses besides ASCII: ideographs, CJK and
/// full-width punctuation, general punctuation, symbols, circled numbers and the metaspace.
fn is_chinese_piece(piece: &str) -> bool {
    piece.chars().any(|c| !c.is_ascii() && c != '\u{2581}')
        && piece.chars().all(|c| {
            let c = u32::from(c);
            c < 0x80
                || c == 0x2581
                || matches!(c, 0xA7 | 0xB0 | 0xB7 | 0xD7 | 0xF7)
                || (0x2000..=0x206F).contains(&c)
                || (0x2100..=0x22FF).contains(&c)
                || (0x2460..=0x24FF).contains(&c)
                || (0x25A0..=0x26FF).contains(&c)
                || (0x2E80..=0x2FDF).contains(&c)
                || (0x3000..=0x303F).contains(&c)
                || (0x3200..=0x4DBF).contains(&c)
                || (0x4E00..=0x9FFF).contains(&c)
                || (0xF900..=0xFAFF).contains(&c)
                || (0xFF00..=0xFFEF).contains(&c)
        })
}

fn cut(args: &ModelCutArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.from)
        .with_context(|| format!("读取模型文件 {}", args.from.display()))?;
    let model = ModelFile::parse(&bytes)?;
    // The most probable ASCII pieces: every ASCII text still tokenises (single characters stay), the common
    // words and numbers as whole pieces.
    let mut ascii: Vec<usize> = (0..model.vocabulary.pieces.len())
        .filter(|&id| {
            let piece = &model.vocabulary.pieces[id];
            piece.chars().all(|c| c.is_ascii() || c == '\u{2581}')
        })
        .collect();
    ascii.sort_by(|&a, &b| model.vocabulary.scores[b].total_cmp(&model.vocabulary.scores[a]));
    let mut keep_ascii = vec![false; model.vocabulary.pieces.len()];
    for &id in ascii.iter().take(args.ascii_pieces) {
        keep_ascii[id] = true;
    }
    for (id, piece) in model.vocabulary.pieces.iter().enumerate() {
        if piece.chars().count() == 1 || piece.chars().count() == 2 && piece.starts_with('\u{2581}')
        {
            keep_ascii[id] |= piece.chars().all(|c| c.is_ascii() || c == '\u{2581}');
        }
    }
    let cut = model.cut_vocabulary(|id, piece| keep_ascii[id] || is_chinese_piece(piece));
    let out = cut.to_bytes();
    std::fs::write(&args.out, &out).with_context(|| format!("写入 {}", args.out.display()))?;
    println!(
        "已写入 {}：词表 {} → {} 个词元，{:.1} MB → {:.1} MB",
        args.out.display(),
        model.vocabulary.pieces.len(),
        cut.vocabulary.pieces.len(),
        bytes.len() as f64 / 1e6,
        out.len() as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

fn embed(settings: &Settings, args: &ModelEmbedArgs) -> anyhow::Result<ExitCode> {
    let path = args.model.as_deref().unwrap_or(&settings.search.model);
    let embedder = Embedder::load(path)?;
    let started = std::time::Instant::now();
    let vectors: Vec<Vec<f32>> = if args.passage {
        let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
        embedder.embed_passages(&texts, |_| {})?
    } else {
        args.texts
            .iter()
            .map(|text| embedder.embed_query(text))
            .collect::<Result<_, _>>()?
    };
    let elapsed = started.elapsed();
    if args.json {
        println!("{}", serde_json::to_string(&vectors)?);
    } else {
        for (text, vector) in args.texts.iter().zip(&vectors) {
            let head: Vec<String> = vector.iter().take(6).map(|v| format!("{v:.4}")).collect();
            println!("{text}: [{} …]", head.join(", "));
        }
        for (i, a) in vectors.iter().enumerate() {
            for (j, b) in vectors.iter().enumerate().skip(i + 1) {
                println!("相似度 {} ↔ {}：{:.4}", i + 1, j + 1, cosine(a, b));
            }
        }
        eprintln!("用时 {:.1} ms", elapsed.as_secs_f64() * 1000.0);
    }
    Ok(ExitCode::SUCCESS)
}
