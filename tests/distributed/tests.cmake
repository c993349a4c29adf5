# The MPI suite (XGRAD_DISTRIBUTED=ON): its own executable, run under mpirun with 1, 2 and 4 ranks
# (4 oversubscribed on small machines), plus fault scenarios that must end the job with an error
# within a time bound. All labelled "mpi":   ctest -L mpi
# mpirun runs on loopback only (TCP over lo, no shared-memory or network interfaces) and, as root,
# with Open MPI's run-as-root permission set in the tests' environment.
file(GLOB XGRAD_MPI_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_*.cpp)
add_executable(xgrad_mpi_tests ${CMAKE_CURRENT_SOURCE_DIR}/distributed/mpi_main.cpp ${XGRAD_MPI_TEST_SOURCES})
target_link_libraries(xgrad_mpi_tests PRIVATE xgrad::distributed doctest::doctest)
target_include_directories(xgrad_mpi_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
xgrad_target_flags(xgrad_mpi_tests)
add_executable(xgrad_mpi_fault ${CMAKE_CURRENT_SOURCE_DIR}/distributed/fault_main.cpp)
target_link_libraries(xgrad_mpi_fault PRIVATE xgrad::distributed)
xgrad_target_flags(xgrad_mpi_fault)

set(XGRAD_MPIRUN ${MPIEXEC_EXECUTABLE} --bind-to none --mca btl self,tcp --mca btl_tcp_if_include lo
    --mca oob_tcp_if_include lo --tag-output -x OPENBLAS_NUM_THREADS)
# One OpenBLAS thread per rank: the ranks share the machine's cores.
set(XGRAD_MPI_ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1)
if(XGRAD_SANITIZE)
  # Open MPI's own allocations are reported as leaks by LeakSanitizer: leak checks are off for the
  # MPI tests only (AddressSanitizer and UBSan stay on). -x passes the setting to every rank.
  list(APPEND XGRAD_MPI_ENV ASAN_OPTIONS=detect_leaks=0)
  list(APPEND XGRAD_MPIRUN -x ASAN_OPTIONS)
endif()

foreach(np 1 2 4)
  add_test(NAME mpi_suite_np${np} COMMAND ${XGRAD_MPIRUN} -np ${np} $<TARGET_FILE:xgrad_mpi_tests> --no-colors)
  set_tests_properties(mpi_suite_np${np} PROPERTIES LABELS mpi TIMEOUT 600 PROCESSORS ${np} ENVIRONMENT "${XGRAD_MPI_ENV}")
endforeach()

set(XGRAD_EXPECT_FAILURE bash ${CMAKE_CURRENT_SOURCE_DIR}/distributed/expect_failure.sh)
add_test(NAME mpi_fault_rank_exits_np2
         COMMAND ${XGRAD_EXPECT_FAILURE} 60 "exited on signal|Exit code: +3|exiting improperly"
                 ${XGRAD_MPIRUN} -np 2 $<TARGET_FILE:xgrad_mpi_fault> dead)
add_test(NAME mpi_fault_rank_killed_np4
         COMMAND ${XGRAD_EXPECT_FAILURE} 60 "exited on signal 9|killed|Killed"
                 ${XGRAD_MPIRUN} -np 4 $<TARGET_FILE:xgrad_mpi_fault> killed)
add_test(NAME mpi_fault_rank_hangs_np2
         COMMAND ${XGRAD_EXPECT_FAILURE} 60 "did not complete within the timeout of 3 s"
                 ${XGRAD_MPIRUN} -np 2 $<TARGET_FILE:xgrad_mpi_fault> hang)
add_test(NAME mpi_fault_model_mismatch_np2
         COMMAND ${XGRAD_EXPECT_FAILURE} 60 "rank 1 has parameter '0.weight' of \\(24, 20\\) float32, rank 0 has \\(32, 20\\) float32"
                 ${XGRAD_MPIRUN} -np 2 $<TARGET_FILE:xgrad_mpi_fault> mismatch)
set_tests_properties(mpi_fault_rank_exits_np2 mpi_fault_rank_killed_np4 mpi_fault_rank_hangs_np2 mpi_fault_model_mismatch_np2
                     PROPERTIES LABELS mpi TIMEOUT 180 PROCESSORS 2 ENVIRONMENT "${XGRAD_MPI_ENV}")

# The data-parallel flagship (examples/distributed/flagship_ddp.cpp): 10 epochs on 2 ranks reach the
# single-process accuracy. Needs the examples and Fashion-MNIST.
if(XGRAD_BUILD_EXAMPLES AND EXISTS /usr/share/datasets/fashion-mnist)
  add_test(NAME mpi_flagship_ddp_np2
           COMMAND ${XGRAD_MPIRUN} -np 2 $<TARGET_FILE:flagship_ddp> --epochs 10 --out ${CMAKE_BINARY_DIR}/flagship_ddp_test_out
                   --min-accuracy 89.5)
  set_tests_properties(mpi_flagship_ddp_np2 PROPERTIES LABELS mpi TIMEOUT 900 PROCESSORS 2 ENVIRONMENT "${XGRAD_MPI_ENV}")
endif()
