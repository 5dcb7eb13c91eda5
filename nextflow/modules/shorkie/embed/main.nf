process SHORKIE_EMBED {
    tag "$meta.id"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(sequences)
    tuple val(meta2), path(models, arity: '0..*'), path(params_json)

    output:
    tuple val(meta), path("*.npz"), path("*.ids.tsv"), emit: embeddings
    tuple val("${task.process}"), val('shorkie'), eval('shorkie-embed --version | sed "s/^shorkie-embed //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def device = task.accelerator ? 'cuda' : 'cpu'
    def model_args = models.collect { "--model ${it}" }.join(' ')
    def params_arg = params_json ? "--params ${params_json}" : ''
    """
    shorkie-embed \\
        ${args} \\
        ${model_args} \\
        ${params_arg} \\
        --device ${device} \\
        --threads ${task.cpus} \\
        --output-type npz \\
        --output ${prefix}.npz \\
        --ids ${prefix}.ids.tsv \\
        ${sequences}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.npz
    touch ${prefix}.ids.tsv
    """
}
