# Every project target gets the same warning set; CI turns them into errors.
add_library(streamcheck_warnings INTERFACE)
# The g++ build also meets -Wconversion -Wold-style-cast -Wnon-virtual-dtor (measured over every
# translation unit); clang's -Wconversion includes -Wsign-conversion, which the fuzzers do not.
target_compile_options(streamcheck_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       "$<$<CXX_COMPILER_ID:GNU>:-Wconversion;-Wold-style-cast;-Wnon-virtual-dtor>"
                       $<$<BOOL:${STREAMCHECK_WERROR}>:-Werror>)
