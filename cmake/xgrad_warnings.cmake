# Flags for xgrad's own targets only (never global CMAKE_CXX_FLAGS: they would leak into consumers).
function(xgrad_target_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12's flow-sensitive warnings report false positives inside libstdc++ containers at -O2/-O3
    # (GCC bugs 105651, 106199, 108088); they fire on std::vector code that is correct.
    target_compile_options(${target} PRIVATE -Wno-free-nonheap-object -Wno-array-bounds -Wno-stringop-overflow)
  endif()
  if(XGRAD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # xsimd 8's AVX-512 code does not compile at -O0 (invalid casts in its select kernels), so
  # Debug builds (sanitizers) stay generic.
  if(XGRAD_NATIVE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  if(XGRAD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
