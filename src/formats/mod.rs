//! Readers of the files users give, one module per format, shared by every binary.
//!
//! - [`text`]: plain, gzip or bgzip text from a path, FIFO or stdin, as numbered lines.
//! - [`indexed_fasta`]: a reference FASTA with its `.fai` (and `.gzi`), checked against
//!   the file; [`contig_alias`] maps VCF contig names onto it.
//! - [`fasta_stream`]: FASTA records read one at a time.
//! - [`bed`], [`gtf`]: regions and genes.
//! - [`table`]: tab-separated tables with a header, under [`targets`] sheets and the
//!   probe's labels and ID tables.

pub mod bed;
pub mod contig_alias;
pub mod fasta_stream;
pub mod gtf;
pub mod indexed_fasta;
pub mod table;
pub mod targets;
pub mod text;
