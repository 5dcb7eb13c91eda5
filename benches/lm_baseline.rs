//! The embedded default language model against the k-mer context baseline, on the
//! held-out test chromosomes of S288C (chrXII, chrXIV, chrXVI): masked-token
//! cross-entropy and accuracy on exactly the same masked tokens, side by side; then, on
//! random SNVs of the same chromosomes, how often each prefers the REF base.
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

    let (lm_pref, km_pref, lm_llr, n) = snv_preference(&model, &corpus, &km, 2000, 11)?;
    let ci = |p: f64| 1.96 * (p * (1.0 - p) / n as f64).sqrt();
    println!("\nzero-shot on {n} random SNVs of the held-out test chromosomes (site masked and centred in the window, as shorkie-score does):");
    println!("  {:<32} {:>14} {:>10}", "predictor", "prefers REF", "mean LLR");
    println!("  {:<32} {:>13.1}% {:>10.3}   (95% CI ±{:.1} points)", "default LM", 100.0 * lm_pref, lm_llr, 100.0 * ci(lm_pref));
    println!("  {:<32} {:>13.1}% {:>10}   (95% CI ±{:.1} points)", format!("k-mer, k = {k}"), 100.0 * km_pref, "", 100.0 * ci(km_pref));
    Ok(())
}

/// Random SNVs (site, other base drawn uniformly) on the test windows: the fraction where
/// the LM (site masked, window centred on it) and the k-mer model give REF the larger
/// probability (ties count against), the LM's mean ln(p_alt / p_ref), and the SNV count.
fn snv_preference(model: &SeqNN, corpus: &Corpus, km: &KmerModel, n: usize, seed: u64) -> shorkie::Result<(f64, f64, f64, usize)> {
    use candle_core::{IndexOp, Tensor};
    use shorkie::score::encode::InputLayout;
    let seq_len = corpus.seq_len;
    let layout = InputLayout::new(model.in_channels, if model.in_channels > 5 { Some(0) } else { None })?;
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move |m: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % m as u64) as usize
    };
    let mut snvs = Vec::new();
    while snvs.len() < n {
        let w = &corpus.test[next(corpus.test.len())];
        let contig = &corpus.genomes[w.genome].contigs[w.contig].seq;
        let site = w.start + next(seq_len);
        let Some(start) = site.checked_sub(seq_len / 2).filter(|s| s + seq_len <= contig.len()) else { continue };
        let Some(r) = shorkie::dna::base_index(contig[site]) else { continue };
        let a = (r + 1 + next(3)) % 4;
        snvs.push((Window { genome: w.genome, contig: w.contig, start }, r, a));
    }
    let (mut lm_ref, mut km_ref, mut llr) = (0usize, 0usize, 0f64);
    for chunk in snvs.chunks(16) {
        let mut buf = Vec::with_capacity(chunk.len() * seq_len * model.in_channels);
        for (w, _, _) in chunk {
            let seq = &corpus.genomes[w.genome].contigs[w.contig].seq[w.start..w.start + seq_len];
            layout.encode_into(&seq.to_ascii_uppercase(), Some(seq_len / 2), &mut buf);
        }
        let x = Tensor::from_vec(buf, (chunk.len(), seq_len, model.in_channels), &Device::Cpu)?;
        let probs = model.forward(&x)?.i((.., seq_len / 2, ..))?.to_vec2::<f32>()?;
        for ((w, r, a), p) in chunk.iter().zip(probs) {
            lm_ref += usize::from(p[*r] > p[*a]);
            llr += (p[*a] as f64).ln() - (p[*r] as f64).ln();
            km_ref += usize::from(km.log_prob(corpus, w, seq_len / 2, *r) > km.log_prob(corpus, w, seq_len / 2, *a));
        }
    }
    let n = snvs.len() as f64;
    Ok((lm_ref as f64 / n, km_ref as f64 / n, llr / n, snvs.len()))
}
