process SHORKIE_PRETRAIN {
    tag "$meta.id"
    label 'process_high'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(genomes), path(fastas), path(gtfs)
    path(params_json)
    path(restore)

    output:
    tuple val(meta), path("*/model.safetensors"), emit: model
    tuple val(meta), path("*/params.json"), emit: params
    tuple val(meta), path("*/best.safetensors"), emit: best, optional: true
    tuple val(meta), path("*/train_log.tsv"), emit: log, optional: true
    tuple val(meta), path("*/train_curves.svg"), emit: curves, optional: true
    tuple val("${task.process}"), val('shorkie'), eval('shorkie-pretrain --version | sed "s/^shorkie-pretrain //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def restore_arg = restore ? "--restore ${restore}" : ''
    """
    shorkie-pretrain \\
        ${args} \\
        ${restore_arg} \\
        --genomes ${genomes} \\
        --params ${params_json} \\
        --threads ${task.cpus} \\
        --output ${prefix}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/model.safetensors
    touch ${prefix}/params.json
    """
}
