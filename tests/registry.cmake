# Image reference parsing (libmx/mx_reg_ref.c: the guest agent's docker pulls) and SHA-256.
# The registry client these once sat beside (mx_reg_*) was removed: neither binary linked it.
mx_unit_test(mx_reg_ref_test libmx/mx_reg_ref_test.c mx)
mx_unit_test(mx_sha256_test libmx/mx_sha256_test.c mx)
