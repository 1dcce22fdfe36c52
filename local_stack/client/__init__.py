"""Drive a deployed stack as a client of AWS would: find and upload images, start one execution
per image and wait for them, sum the results up. Nothing here knows the stack is local."""
