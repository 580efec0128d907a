# The agent's docker-check / docker-pull steps (issue 4): the real mexec-agent against a fake
# dockerd (python3, unix socket) — no docker engine needed.
mx_agent_test(agent_docker_test guest-agent/agent_docker_test.c)
target_compile_definitions(agent_docker_test PRIVATE
  MX_FAKE_DOCKERD="${CMAKE_CURRENT_SOURCE_DIR}/guest-agent/fixtures/fake_dockerd.py")
# Container steps (docker executor): the real agent against a fake dockerd whose execs run here.
mx_agent_test(agent_ctr_test guest-agent/agent_ctr_test.c)
target_compile_definitions(agent_ctr_test PRIVATE
  MX_FAKE_DOCKERD_CTR="${CMAKE_CURRENT_SOURCE_DIR}/guest-agent/fixtures/fake_dockerd_ctr.py")
# Its tar writer and owner patcher (against GNU tar) and the exec stream demultiplexer.
mx_unit_test(agent_tar_test guest-agent/agent_tar_test.c mx_agent)
