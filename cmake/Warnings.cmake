# Every project target gets the same warning set; CI turns them into errors.
add_library(streamcheck_warnings INTERFACE)
target_compile_options(streamcheck_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       $<$<BOOL:${STREAMCHECK_WERROR}>:-Werror>)
