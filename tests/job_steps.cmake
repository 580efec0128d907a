# Caches, artifacts, test results, SSH keys, parallelism and the guest's `circleci` command.
mx_agent_test(agent_split_test guest-agent/agent_split_test.c)
mx_unit_test(cache_key_test provisioner/cache_key_test.c mx_host)
mx_unit_test(cache_store_test provisioner/cache_store_test.c mx_host)
mx_unit_test(junit_test provisioner/junit_test.c mx_host)
mx_unit_test(tar_extract_test provisioner/tar_extract_test.c mx_host)
mx_agent_test(agent_jobsteps_test guest-agent/agent_jobsteps_test.c)
mx_unit_test(host_steps_test provisioner/host_steps_test.c mx_host)
mx_unit_test(job_steps_test provisioner/job_steps_test.c mx_host)
