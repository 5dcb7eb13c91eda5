process SHORKIE_EVAL {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(model), path(params_json), path(sequences)
    tuple val(meta2), path(targets), path(bigwigs)
    tuple val(meta3), path(fasta)
    path(gtf)

    output:
    tuple val(meta), path("*/eval_tracks.tsv"), emit: tracks
    tuple val(meta), path("*/eval_genes.tsv"), emit: genes, optional: true
    tuple val(meta), path("*/gene_sums.tsv"), emit: gene_sums, optional: true
    tuple val(meta), path("*/eval_genes.svg"), emit: svg, optional: true
    tuple val("${task.process}"), val('shorkie'), eval('"$(command -v shorkie-eval)" --version | sed "s/^[^ ]* //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def gtf_arg = gtf ? "--gtf ${gtf}" : ''
    """
    shorkie-eval \\
        ${args} \\
        ${gtf_arg} \\
        --model ${model} \\
        --params ${params_json} \\
        --targets ${targets} \\
        --fasta ${fasta} \\
        --sequences ${sequences} \\
        --threads ${task.cpus} \\
        --output ${prefix}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/eval_tracks.tsv
    """
}
