# cmake -DSOURCE_DIR=... -DCLANG_FORMAT=... -P CheckFormat.cmake
# Fails when a C++ file of the project is not formatted as .clang-format says.
file(GLOB_RECURSE files
  ${SOURCE_DIR}/include/*.hpp ${SOURCE_DIR}/src/*.cpp ${SOURCE_DIR}/src/*.hpp
  ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.hpp ${SOURCE_DIR}/benchmarks/*.cpp
  ${SOURCE_DIR}/benchmarks/*.hpp ${SOURCE_DIR}/examples/*.cpp ${SOURCE_DIR}/python/*.cpp)
execute_process(COMMAND ${CLANG_FORMAT} --style=file --dry-run -Werror ${files}
                RESULT_VARIABLE result ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "files not formatted with .clang-format (run clang-format -i):\n${errors}")
endif()
list(LENGTH files count)
message(STATUS "${count} files formatted as .clang-format says")
