/** The AWS provider every AWS stack declares its resources with: the stack's region, and its tags on everything. */
import * as aws from "@pulumi/aws";
import { type StackSettings, stackTags } from "../stack/settings.js";

/** Resource options whose provider tags every AWS resource of the stack, through its defaultTags. */
export function awsProvider(settings: StackSettings & { region: string }): { providers: aws.Provider[] } {
  const provider = new aws.Provider(`${settings.namePrefix}-aws`, {
    region: settings.region as aws.Region,
    defaultTags: { tags: stackTags(settings) },
  });
  return { providers: [provider] };
}
