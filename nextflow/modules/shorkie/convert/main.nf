process SHORKIE_CONVERT {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(model), path(params_json)
    path(io_npz)

    output:
    tuple val(meta), path("*.safetensors"), emit: safetensors
    tuple val("${task.process}"), val('shorkie'), eval('shorkie-convert --version | sed "s/^shorkie-convert //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def check_arg = io_npz ? "--check ${io_npz}" : ''
    """
    shorkie-convert \\
        ${args} \\
        ${check_arg} \\
        --params ${params_json} \\
        --output ${prefix}.safetensors \\
        ${model}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.safetensors
    """
}
