# Registry client tests (issue 4).
# Unit (label unit): WWW-Authenticate corpus, reference parsing, retry policy, SHA-256 and
# which token realms may receive credentials.
mx_unit_test(mx_www_auth_test libmx/mx_www_auth_test.c mx)
mx_unit_test(mx_reg_ref_test libmx/mx_reg_ref_test.c mx)
mx_unit_test(mx_reg_retry_test libmx/mx_reg_retry_test.c mx)
mx_unit_test(mx_reg_token_test libmx/mx_reg_token_test.c mx)

# Integration (label registry): real docker-registry servers on loopback, started and stopped
# around the test binary by with-registries.sh (in its own network namespace when root).
#   ctest -L registry --output-on-failure
mx_test_program(mx_reg_pull_test libmx/mx_reg_pull_test.c mx)
add_test(NAME mx_reg_pull_test
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/registry/with-registries.sh $<TARGET_FILE:mx_reg_pull_test>)
# TIMEOUT is a safety net against a hung server, not a speed requirement.
set_tests_properties(mx_reg_pull_test PROPERTIES LABELS registry TIMEOUT 600)

# The client as a command, for bench/pull.sh and for poking at a registry by hand.
add_executable(mx-reg-pull registry/reg_pull.c)
target_link_libraries(mx-reg-pull PRIVATE mx)
set_target_properties(mx-reg-pull PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${MX_TEST_BIN_DIR})
