//! The embedded default language model against the k-mer context baseline, on the
//! held-out test chromosomes of S288C (chrXII, chrXIV, chrXVI): masked-token
//! cross-entropy and accuracy on exactly the same masked tokens, side by side.
//!
//! `cargo bench --bench lm_baseline` — needs ../shared (or $SHORKIE_SHARED). The k of the
//! baseline is chosen on the validation chromosomes (chrXI, chrXIII, chrXV).

use std::path::PathBuf;

use candle_core::Device;
use shorkie::train::data::{default_split, Corpus, CorpusOptions, GenomeSpec, MaskOptions, Window};
use shorkie::train::kmer::KmerModel;
use shorkie::train::lm::masked_eval;
use shorkie::{Params, SeqNN};

fn main() -> shorkie::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("SHORKIE_SHARED").map(PathBuf::from).unwrap_or_else(|| root.join("../shared"));
    let sac = shared.join("data/sacCer3");
    if !sac.join("sacCer3.fa.gz").exists() {
        eprintln!("lm_baseline: ../shared not found; set SHORKIE_SHARED");
        std::process::exit(2);
    }
    let model_dir = std::env::var_os("SHORKIE_LM_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("src/default_model"));
    let params = Params::from_file(model_dir.join("params.json"))?;
    let model = SeqNN::load(&params, &model_dir.join("model.safetensors"), &Device::Cpu)?;
    let chr_i = shared.join("data/saccharomyces_chrI");
    let specs = vec![
        GenomeSpec { name: "ScerR64".into(), fasta: sac.join("sacCer3.fa.gz"), gtf: Some(sac.join("sacCer3.genes.gtf.gz")), species: 0 },
        GenomeSpec { name: "SkudIFO1802".into(), fasta: chr_i.join("SkudIFO1802.chrI.fa.gz"), gtf: None, species: 1 },
        GenomeSpec { name: "SmikIFO1815".into(), fasta: chr_i.join("SmikIFO1815.chrI.fa.gz"), gtf: None, species: 2 },
    ];
    let (valid, test) = default_split();
    let seq_len = params.model.seq_length;
    let corpus = Corpus::load(
        &specs,
        &CorpusOptions { seq_len, stride: seq_len, max_n_frac: 0.1, valid_contigs: valid, test_contigs: test, num_species: 3 },
    )?;
    let pick = |w: &[Window], n: usize| -> Vec<Window> { (0..n.min(w.len())).map(|i| w[i * w.len() / n.min(w.len())]).collect() };
    let test_w = pick(&corpus.test, 400);
    let valid_w = pick(&corpus.valid, 200);
    let mask = MaskOptions { rate: 0.15, exon_weight: 1.0, repeat_weight: 1.0, reverse_complement: false };

    // Baseline: choose k on validation tokens.
    let val_tokens = masked_eval(&model, &corpus, &valid_w, 16, &mask, 99)?.tokens;
    println!("k-mer baseline on validation chromosomes ({} masked tokens):", val_tokens.len());
    let mut best: Option<(usize, f64, KmerModel)> = None;
    for k in 1..=5 {
        let km = KmerModel::train(&corpus, k, 1.0);
        let ce = -val_tokens.iter().map(|(w, p, b)| km.log_prob(&corpus, &valid_w[*w], *p, *b)).sum::<f64>() / val_tokens.len() as f64;
        println!("  k = {k} bases each side: cross-entropy {ce:.4} nats");
        if best.as_ref().is_none_or(|b| ce < b.1) {
            best = Some((k, ce, km));
        }
    }
    let (k, _, km) = best.expect("k = 1..5 tried");

    let eval = masked_eval(&model, &corpus, &test_w, 16, &mask, 7)?;
    let n = eval.tokens.len() as f64;
    let km_ce = -eval.tokens.iter().map(|(w, p, b)| km.log_prob(&corpus, &test_w[*w], *p, *b)).sum::<f64>() / n;
    let km_acc = eval.tokens.iter().filter(|(w, p, b)| km.predict(&corpus, &test_w[*w], *p) == *b).count() as f64 / n;
    println!("\nheld-out test chromosomes chrXII, chrXIV, chrXVI: {} windows of {seq_len} bp, {} masked tokens (15%, BERT 80/10/10)", test_w.len(), eval.tokens.len());
    println!("  {:<32} {:>14} {:>10}", "predictor", "cross-entropy", "accuracy");
    println!("  {:<32} {:>14.4} {:>10.4}", "default LM (masked context)", eval.cross_entropy, eval.accuracy);
    println!("  {:<32} {:>14.4} {:>10.4}", format!("k-mer, k = {k} (true context)"), km_ce, km_acc);
    println!("  {:<32} {:>14.4} {:>10.4}", "uniform", (4f64).ln(), 0.25);
    println!("  LM minus k-mer: {:+.4} nats, {:+.4} accuracy", eval.cross_entropy - km_ce, eval.accuracy - km_acc);
    Ok(())
}
