/* test_eltwise.c - the eltwise family: `cpu` finite differences of the reference, `gpu` shaders
 * against the reference, over the cases in engine/cases/eltwise.c. */
#include "testutil.h"

int main(int argc, char **argv)
{
    return vkd_test_family_main(argc, argv, "eltwise");
}
