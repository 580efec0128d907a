# Caches, artifacts, test results, SSH keys, parallelism and the guest's `circleci` command.
mx_agent_test(agent_split_test guest-agent/agent_split_test.c)
mx_unit_test(cache_key_test provisioner/job/cache_key_test.c mexec_job)
mx_unit_test(cache_store_test provisioner/job/cache_store_test.c mexec_job)
mx_unit_test(junit_test provisioner/job/junit_test.c mexec_job)
mx_unit_test(tar_extract_test provisioner/job/tar_extract_test.c mexec_job)
mx_agent_test(agent_jobsteps_test guest-agent/agent_jobsteps_test.c)
mx_unit_test(host_steps_test provisioner/host/host_steps_test.c mexec_host)
mx_unit_test(job_steps_test provisioner/job/job_steps_test.c mexec_job)
