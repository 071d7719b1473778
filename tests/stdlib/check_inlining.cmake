# Links tests/stdlib/inline_check.c with the stdlib bitcode and treats it as haloc treats a
# model (no per-function target attributes, LinkOnlyNeeded, everything but the entry points
# internalised, O3 for one fixed AVX2 CPU so the result does not depend on the build machine),
# then checks the IR: kernels inlined, propto terms folded away, elementwise loops vectorised.
# cmake -P; CLANG, LINK, OPT, DIS, BITCODE, SOURCE, INCLUDE, STRIP, WORK set on the command line.
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${CLANG} -x c -std=c11 -O2 -Xclang -disable-llvm-passes -I${INCLUDE} -emit-llvm -c ${SOURCE}
                        -o ${WORK}/model.bc RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "clang failed on ${SOURCE}")
endif()
# Generated model functions carry no target-cpu/features (like the stdlib after stripping).
execute_process(COMMAND ${DIS} ${WORK}/model.bc -o ${WORK}/model.ll)
execute_process(COMMAND ${CMAKE_COMMAND} -DIN=${WORK}/model.ll -DOUT=${WORK}/model_stripped.ll -P ${STRIP})
execute_process(COMMAND ${LINK} --only-needed ${WORK}/model_stripped.ll ${BITCODE} -o ${WORK}/linked.bc
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "llvm-link failed")
endif()
execute_process(COMMAND ${OPT} -passes=internalize -internalize-public-api-list=lp_*,map_* ${WORK}/linked.bc
                        -o ${WORK}/internal.bc RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "opt (internalize) failed")
endif()
execute_process(COMMAND ${OPT} -O3 -mtriple=x86_64-pc-linux-gnu -mcpu=x86-64-v3 ${WORK}/internal.bc -o ${WORK}/opt.bc
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "opt failed")
endif()
execute_process(COMMAND ${DIS} ${WORK}/opt.bc -o - OUTPUT_VARIABLE ir)

function(body name out)
  string(REGEX MATCH "define [^\n]*@${name}\\([^\n]*\n([^}]*\n)*}" text "${ir}")
  if(NOT text)
    message(FATAL_ERROR "no function ${name} in the optimised IR")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

set(errors "")
body(lp_mu_only mu_only)
if(mu_only MATCHES "@(llvm\\.)?log")
  string(APPEND errors "lp_mu_only still computes a log (propto did not fold -log(sigma)):\n${mu_only}\n")
endif()
if(mu_only MATCHES "call[^\n]*@[a-km-z_]")  # anything but @llvm.* intrinsics
  string(APPEND errors "lp_mu_only still calls a function:\n${mu_only}\n")
endif()
body(lp_full full)
if(NOT full MATCHES "@(llvm\\.)?log")
  string(APPEND errors "lp_full lost its log(sigma):\n${full}\n")
endif()
body(map_normal map)
if(NOT map MATCHES "<4 x double>")
  string(APPEND errors "map_normal is not vectorised:\n${map}\n")
endif()
if(map MATCHES "@halo_")
  string(APPEND errors "map_normal did not inline the stdlib:\n${map}\n")
endif()
body(map_inv_logit logit)
if(NOT logit MATCHES "<4 x double>")
  string(APPEND errors "map_inv_logit is not vectorised:\n${logit}\n")
endif()
body(map_log1p_exp softplus)
if(NOT softplus MATCHES "<4 x double>")
  string(APPEND errors "map_log1p_exp is not vectorised:\n${softplus}\n")
endif()
# exp and log1p are inline polynomials: no stdlib, libmvec (_ZGV...) or C++ helper (_ZN4halo...) calls
if(softplus MATCHES "call[^\n]*@(halo_|_Z|(llvm\\.)?(exp|log1p)[.(])")
  string(APPEND errors "map_log1p_exp still calls a function:\n${softplus}\n")
endif()
if(errors)
  message(FATAL_ERROR "${errors}")
endif()
message(STATUS "stdlib kernels inline, propto folds, elementwise loops vectorise")
