process SHORKIE_ISM {
    tag "$meta.id"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(bed), path(vcf)
    tuple val(meta2), path(fasta), path(fai), path(gzi)
    tuple val(meta3), path(models, arity: '1..*'), path(params_json), path(targets)
    path(gtf)

    output:
    tuple val(meta), path("*/*.tsv"), emit: tsv
    tuple val(meta), path("*/*.npz"), emit: npz
    tuple val(meta), path("*/*.bedgraph"), emit: bedgraph
    tuple val(meta), path("*/*.svg"), emit: svg, optional: true
    tuple val("${task.process}"), val('shorkie'), eval('shorkie-ism --version | sed "s/^shorkie-ism //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def device = task.accelerator ? 'cuda' : 'cpu'
    def input_arg = vcf ? "--vcf ${vcf}" : "${bed}"
    def model_args = models.collect { "--model ${it}" }.join(' ')
    def targets_arg = targets ? "--targets ${targets}" : ''
    def gtf_arg = gtf ? "--gtf ${gtf}" : ''
    """
    shorkie-ism \\
        ${args} \\
        ${model_args} \\
        --params ${params_json} \\
        ${targets_arg} \\
        ${gtf_arg} \\
        --fasta ${fasta} \\
        --device ${device} \\
        --threads ${task.cpus} \\
        --output ${prefix} \\
        ${input_arg}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/ism.tsv
    touch ${prefix}/ism.track0.npz
    touch ${prefix}/ism.track0.bedgraph
    """
}
