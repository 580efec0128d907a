# The agent as uploaded (issue 9, "the guest agent must run on every image"): its own HTTP
# client, its portability, and a fuzz target for its HTTP response parser.

mx_unit_test(agent_http_test guest-agent/agent_http_test.c mx_agent)

# The uploaded artifact needs nothing from the guest: no interpreter, no shared library,
# stripped; and it speaks the protocol from inside an empty root.  Only where the agent is built
# static, i.e. not in sanitizer or fuzz builds (guest-agent/CMakeLists.txt).
get_target_property(mx_agent_static mexec-agent MX_STATIC_DEPS)
if(mx_agent_static)
  mx_agent_test(agent_static_test guest-agent/agent_static_test.c)
endif()

# libFuzzer (clang, -DMEXEC_FUZZ=ON):
#   build-fuzz/tests/bin/agent_http_fuzz -max_total_time=30 tests/fuzz/corpus/agent_http
if(MEXEC_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(agent_http_fuzz fuzz/agent_http_fuzz.c)
  target_link_libraries(agent_http_fuzz PRIVATE mx_agent)
  target_compile_options(agent_http_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(agent_http_fuzz PRIVATE -fsanitize=fuzzer)
  set_target_properties(agent_http_fuzz PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${MX_TEST_BIN_DIR})
endif()
