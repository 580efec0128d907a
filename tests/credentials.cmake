# Registry credentials: config.json, resolution, helpers, SigV4, ECR/STS (fake on 127.0.0.1).
set(MX_CRED_FIXTURES ${CMAKE_CURRENT_SOURCE_DIR}/credentials)
# mx_cred_unit_test(NAME SOURCE LIB...): a unit test using the fixtures in tests/credentials.
function(mx_cred_unit_test name source)
  mx_unit_test(${name} ${source} ${ARGN})
  target_include_directories(${name} PRIVATE ${MX_CRED_FIXTURES})
  target_compile_definitions(${name} PRIVATE MX_CRED_FIXTURES="${MX_CRED_FIXTURES}")
endfunction()
foreach(t mx_aws_sigv4_test mx_aws_ecr_test mx_aws_cache_test mx_dockercfg_test
    mx_cred_test)
  mx_cred_unit_test(${t} libmx/${t}.c mx)
endforeach()
# botocore itself reproduces AWS's published vectors (the reference the C tests compare with).
add_test(NAME sigv4_botocore_check COMMAND /usr/bin/python3 ${MX_CRED_FIXTURES}/sigv4_botocore_check.py)
set_tests_properties(sigv4_botocore_check PROPERTIES LABELS unit)
# The provisioner's use of it: credentials for docker/check and docker/pull, ECR included.
mx_cred_unit_test(job_docker_test provisioner/job/job_docker_test.c mexec_job)
# The docker executor's containers step: each image's credentials (auth, aws_auth, the chain).
mx_cred_unit_test(job_containers_test provisioner/job/job_containers_test.c mexec_job)
