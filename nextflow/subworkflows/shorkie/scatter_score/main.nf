//
// Scatter/gather variant scoring: split a VCF into ordered chunks, score each chunk on its
// own task (one GPU each with the `gpu` profile), then concatenate the scored chunks in
// chunk order and tabix-index the result. The output has the input's records in the
// input's order, exactly as one unchunked shorkie-score run would write them.
//

include { SHORKIE_SPLIT  } from '../../../modules/shorkie/split/main'
include { SHORKIE_SCORE  } from '../../../modules/shorkie/score/main'
include { SHORKIE_CONCAT } from '../../../modules/shorkie/concat/main'

workflow SCATTER_SCORE {

    take:
    ch_vcf        // channel: [ val(meta), path(vcf) ]
    ch_fasta      // channel: [ val(meta2), path(fasta), path(fai), path(gzi) ]  (gzi may be [])
    ch_model      // channel: [ val(meta3), [ path(models) ], path(params_json), path(targets) ]  ([] for the default model)
    ch_gtf        // channel: path(gtf) or []
    val_chunk_size // value: records per chunk; 0 for one chunk per contig

    main:
    SHORKIE_SPLIT ( ch_vcf, val_chunk_size )

    // One item per chunk; the index comes from the zero-padded part number in the name.
    ch_chunks = SHORKIE_SPLIT.out.chunks
        .flatMap { meta, chunks ->
            def files = (chunks instanceof List ? chunks : [ chunks ]).sort { f -> f.name }
            files.collect { f ->
                def idx = (f.name =~ /\.part(\d+)\.vcf\.gz$/)[0][1]
                [ meta + [ id: "${meta.id}.chunk${idx}", parent_id: meta.id, chunk: idx as int, n_chunks: files.size() ], f ]
            }
        }

    SHORKIE_SCORE (
        ch_chunks,
        ch_fasta.first(),
        ch_model.first(),
        ch_gtf.first()
    )

    // Gather: wait for all chunks of an input, sort by chunk index, concatenate.
    ch_gathered = SHORKIE_SCORE.out.vcf
        .map { meta, vcf -> [ groupKey(meta.parent_id, meta.n_chunks), meta, vcf ] }
        .groupTuple()
        .map { parent_id, metas, vcfs ->
            def ordered = [ metas, vcfs ].transpose().sort { pair -> pair[0].chunk }
            def meta = ordered[0][0].findAll { k, v -> !(k in [ 'id', 'parent_id', 'chunk', 'n_chunks' ]) } + [ id: parent_id.toString() ]
            [ meta, ordered.collect { pair -> pair[1] } ]
        }

    SHORKIE_CONCAT ( ch_gathered )

    emit:
    vcf    = SHORKIE_CONCAT.out.vcf     // channel: [ val(meta), path(vcf.gz) ]
    tbi    = SHORKIE_CONCAT.out.tbi     // channel: [ val(meta), path(vcf.gz.tbi) ]
    chunks = SHORKIE_SCORE.out.vcf      // channel: [ val(meta), path(vcf.gz) ] per chunk
}
