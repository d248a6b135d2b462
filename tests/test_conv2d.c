/* test_conv2d.c - the conv2d family: `cpu` finite differences of the reference, `gpu` shaders
 * against the reference, over the cases in engine/cases/conv2d.c. */
#include "testutil.h"

int main(int argc, char **argv)
{
    return vkd_test_family_main(argc, argv, "conv2d");
}
