# Caches, artifacts, test results, SSH keys, parallelism and the guest's `circleci` command.
mx_agent_test(agent_split_test guest-agent/agent_split_test.c)
