/* The smallest possible program: built static and dynamic for start-up and
 * peak-RSS measurements. */
int main(void)
{
    return 0;
}
