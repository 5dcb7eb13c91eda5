process SHORKIE_PREDICT {
    tag "$meta.id"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(bed)
    tuple val(meta2), path(fasta), path(fai), path(gzi)
    tuple val(meta3), path(models, arity: '0..*'), path(params_json), path(targets)

    output:
    tuple val(meta), path("*/*.bw"), emit: bigwig
    tuple val("${task.process}"), val('shorkie'), eval('shorkie-predict --version | sed "s/^shorkie-predict //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def device = task.accelerator ? 'cuda' : 'cpu'
    def model_args = models.collect { "--model ${it}" }.join(' ')
    def params_arg = params_json ? "--params ${params_json}" : ''
    def targets_arg = targets ? "--targets ${targets}" : ''
    """
    shorkie-predict \\
        ${args} \\
        ${model_args} \\
        ${params_arg} \\
        ${targets_arg} \\
        --fasta ${fasta} \\
        --device ${device} \\
        --threads ${task.cpus} \\
        --output-type bigwig \\
        --output ${prefix} \\
        ${bed}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/track0.bw
    """
}
