process SHORKIE_SPLIT {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/bcftools:1.16--haef29d1_2' :
        'quay.io/biocontainers/bcftools:1.16--haef29d1_2' }"

    input:
    tuple val(meta), path(vcf)
    val(chunk_size)

    output:
    tuple val(meta), path("*.part*.vcf.gz"), emit: chunks
    tuple val("${task.process}"), val('bcftools'), eval("bcftools --version | sed '1!d; s/^.*bcftools //'"), emit: versions_bcftools, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    # chunk_size > 0: chunks of that many records; 0: one chunk per contig.
    # Either way the chunks are numbered in input order: ${prefix}.part00001.vcf.gz, ...
    mkdir -p scatter
    if [ "${chunk_size}" -gt 0 ]; then
        bcftools +scatter ${vcf} ${args} --no-version --threads ${task.cpus} -O z -o scatter -p chunk. -n ${chunk_size}
        ls scatter | sed -n 's/^chunk\\.\\([0-9]*\\)\\.vcf\\.gz\$/\\1/p' | sort -n > order.txt
    else
        bcftools query -f '%CHROM\\n' ${vcf} | awk '!seen[\$1]++' > order.txt
        if [ -s order.txt ]; then
            bcftools +scatter ${vcf} ${args} --no-version --threads ${task.cpus} -O z -o scatter -p chunk. -s "\$(paste -sd, order.txt)"
        fi
    fi
    i=0
    while read -r name; do
        i=\$((i + 1))
        mv "scatter/chunk.\${name}.vcf.gz" "\$(printf '%s.part%05d.vcf.gz' ${prefix} \$i)"
    done < order.txt
    if [ "\$i" -eq 0 ]; then
        bcftools view --no-version -h -O z -o ${prefix}.part00001.vcf.gz ${vcf}
    fi
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo "" | gzip > ${prefix}.part00001.vcf.gz
    echo "" | gzip > ${prefix}.part00002.vcf.gz
    """
}
