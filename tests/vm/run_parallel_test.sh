#!/bin/bash
# parallelism: 3 runs three VMs with CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, each line of each
# prefixed "test/I | ", and `circleci tests split` (the agent in the guest, by name and by file
# size) gives three disjoint shares that together cover what `circleci tests glob` found.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
run_job "$HERE/jobs/parallel.yml" test --artifacts-dir "$T/art"
expect_rc 0
all=$(printf 't/integration/test_%s.py\n' 10 7 8 9; printf 't/unit/test_%s.py\n' 1 2 3 4 5 6)
for what in "share" "by size"; do
    got=
    for i in 0 1 2; do
        grep -q "^test/$i | node $i of 3\$" "$T/out" || fail "node $i did not run as node $i of 3"
        mine=$(sed -n "s|^test/$i \\| $what: ||p" "$T/out")
        [[ -n $mine ]] || fail "node $i got no share ($what)"
        got+=$(tr ' ' '\n' <<<"$mine")$'\n'
    done
    # every test once: disjoint and covering
    [[ $(sort <<<"$got" | grep -v '^$') == "$(sort <<<"$all")" ]] ||
        fail "$what: shares are not a partition of the tests: $got"
done
for i in 0 1 2; do
    expect_err "node $i of 3 succeeded"
done
expect_no_leftovers
echo "PASS run_parallel"
