#!/usr/bin/env nextflow
//
// shorkie scatter/gather variant scoring.
//
//   nextflow run nextflow/main.nf -profile slurm,gpu,singularity \
//       --input samplesheet.csv --fasta sacCer3.fa.gz \
//       --models 'models/shorkie_f*.safetensors' --params_json params.json --targets targets.txt \
//       --chunk_size 5000 --outdir results
//
// See nextflow/README.md.
//

nextflow.enable.dsl = 2

include { validateParameters; samplesheetToList } from 'plugin/nf-schema'
include { SCATTER_SCORE } from './subworkflows/shorkie/scatter_score/main'

workflow {

    // Every parameter against nextflow_schema.json (types, enums, files that must exist).
    validateParameters()
    if (params.models && !params.params_json) { error "--models needs --params_json" }

    def fasta = file(params.fasta, checkIfExists: true)
    def fai   = file("${params.fasta}.fai", checkIfExists: true)
    def gzi   = file("${params.fasta}.gzi")

    if (params.input.endsWith('.csv')) {
        // A samplesheet (sample,vcf), validated row by row against assets/schema_input.json.
        ch_vcf = Channel.fromList(samplesheetToList(params.input, "${projectDir}/assets/schema_input.json"))
    } else {
        def vcf = file(params.input, checkIfExists: true)
        ch_vcf = Channel.of([ [ id: vcf.name.replaceAll(/\.(vcf\.gz|vcf\.bgz|vcf|bcf)$/, '') ], vcf ])
    }
    ch_fasta = Channel.of([ [ id: fasta.baseName ], fasta, fai, gzi.exists() ? gzi : [] ])

    if (params.models) {
        def models = files(params.models, checkIfExists: true).sort { f -> f.name }
        ch_model = Channel.of([
            [ id: 'shorkie' ],
            models,
            file(params.params_json, checkIfExists: true),
            params.targets ? file(params.targets, checkIfExists: true) : []
        ])
    } else {
        // The embedded default language model.
        ch_model = Channel.of([ [ id: 'default' ], [], [], [] ])
    }
    ch_gtf = Channel.of(params.gtf ? file(params.gtf, checkIfExists: true) : [])

    def chunk_size = params.scatter_by == 'contig' ? 0 : (params.chunk_size as int)

    SCATTER_SCORE ( ch_vcf, ch_fasta, ch_model, ch_gtf, chunk_size )
}
