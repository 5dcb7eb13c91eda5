process SHORKIE_PROBE {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(embeddings), path(ids), path(labels), path(sequences)

    output:
    tuple val(meta), path("*.probe.tsv"), emit: report
    tuple val(meta), path("*.predictions.tsv"), emit: predictions
    tuple val("${task.process}"), val('shorkie'), eval('shorkie-probe --version | sed "s/^shorkie-probe //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def ids_arg = ids ? "--ids ${ids}" : ''
    def sequences_arg = sequences ? "--sequences ${sequences}" : ''
    """
    shorkie-probe \\
        ${args} \\
        ${ids_arg} \\
        ${sequences_arg} \\
        --embeddings ${embeddings} \\
        --labels ${labels} \\
        --threads ${task.cpus} \\
        --output ${prefix}.probe.tsv \\
        --predictions ${prefix}.predictions.tsv
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.probe.tsv
    touch ${prefix}.predictions.tsv
    """
}
