# Compiles every compute shader to SPIR-V with glslc (with a depfile, so editing an included
# header rebuilds the shaders that use it), checks each with spirv-val, and embeds them all in one
# generated C file. Nothing is read from disk at run time and no .spv is ever committed.
find_program(VKD_GLSLC glslc REQUIRED)
find_program(VKD_SPIRV_VAL spirv-val REQUIRED)

function(vkd_compile_shaders out_var)
    set(spv_files "")
    set(spv_dir ${CMAKE_BINARY_DIR}/spv)
    file(MAKE_DIRECTORY ${spv_dir})
    foreach(src ${ARGN})
        get_filename_component(stem ${src} NAME_WE)
        set(spv ${spv_dir}/${stem}.spv)
        add_custom_command(
            OUTPUT ${spv}
            COMMAND ${VKD_GLSLC} --target-env=vulkan1.2 -O -DVKD_GLSL=1
                    -I${CMAKE_SOURCE_DIR}/shaders -MD -MF ${spv}.d -o ${spv} ${src}
            COMMAND ${VKD_SPIRV_VAL} --target-env vulkan1.2 ${spv}
            DEPENDS ${src}
            DEPFILE ${spv}.d
            COMMENT "glslc ${stem}.comp"
            VERBATIM)
        list(APPEND spv_files ${spv})
    endforeach()
    set(out_c ${CMAKE_BINARY_DIR}/spirv_blobs.c)
    add_custom_command(
        OUTPUT ${out_c}
        COMMAND ${CMAKE_COMMAND} -DOUT=${out_c} "-DSPV=${spv_files}"
                -P ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
        DEPENDS ${spv_files} ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
        COMMENT "embedding SPIR-V"
        VERBATIM)
    set(${out_var} ${out_c} PARENT_SCOPE)
endfunction()
