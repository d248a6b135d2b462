/* test_optim.c - the optim family: `cpu` finite differences of the reference, `gpu` shaders
 * against the reference, over the cases in engine/cases/optim.c. */
#include "testutil.h"

int main(int argc, char **argv)
{
    return vkd_test_family_main(argc, argv, "optim");
}
