# Long-running reliability tests (tests/reliability/test_long_runs.cpp). They are marked
# doctest::skip(), so doctest_discover_tests leaves them out of the default run; here they become
# ctest tests labelled "long":   ctest -L long        (and ctest -LE long excludes nothing else)
add_test(NAME long_xor_million_steps
         COMMAND xgrad_tests --no-skip "--test-case=long: one million XOR training steps*")
add_test(NAME long_fashion_mnist_20_epochs
         COMMAND xgrad_tests --no-skip "--test-case=long: twenty epochs of Fashion-MNIST*")
set_tests_properties(long_xor_million_steps long_fashion_mnist_20_epochs PROPERTIES LABELS long TIMEOUT 1800)
