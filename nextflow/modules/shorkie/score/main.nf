process SHORKIE_SCORE {
    tag "$meta.id"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/shorkie:0.1.0' :
        'quay.io/biocontainers/shorkie:0.1.0' }"

    input:
    tuple val(meta), path(vcf)
    tuple val(meta2), path(fasta), path(fai), path(gzi)
    tuple val(meta3), path(models, arity: '0..*'), path(params_json), path(targets)
    path(gtf)

    output:
    tuple val(meta), path("*.vcf.gz"), emit: vcf
    tuple val(meta), path("*.vcf.gz.tbi"), emit: tbi, optional: true
    tuple val(meta), path("*_mqc.json"), emit: stats, topic: multiqc_files
    tuple val("${task.process}"), val('shorkie'), eval('shorkie-score --version | sed "s/^shorkie-score //"'), emit: versions_shorkie, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def device = task.accelerator ? 'cuda' : 'cpu'
    def model_args = models.collect { "--model ${it}" }.join(' ')
    def params_arg = params_json ? "--params ${params_json}" : ''
    def targets_arg = targets ? "--targets ${targets}" : ''
    def gtf_arg = gtf ? "--gtf ${gtf}" : ''
    """
    shorkie-score \\
        ${args} \\
        ${model_args} \\
        ${params_arg} \\
        ${targets_arg} \\
        ${gtf_arg} \\
        --fasta ${fasta} \\
        --device ${device} \\
        --threads ${task.cpus} \\
        --output-type z \\
        --output ${prefix}.vcf.gz \\
        --stats-json ${prefix}.shorkie_score_mqc.json \\
        --stats-name ${prefix} \\
        ${vcf}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo "" | gzip > ${prefix}.vcf.gz
    touch ${prefix}.shorkie_score_mqc.json
    """
}
