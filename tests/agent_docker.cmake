# The agent's docker-check / docker-pull steps (issue 4): the real mexec-agent against a fake
# dockerd (python3, unix socket) — no docker engine needed.
mx_agent_test(agent_docker_test guest-agent/agent_docker_test.c)
target_compile_definitions(agent_docker_test PRIVATE
  MX_FAKE_DOCKERD="${CMAKE_CURRENT_SOURCE_DIR}/guest-agent/fixtures/fake_dockerd.py")
